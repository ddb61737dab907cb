#!/bin/bash
# The dataplane test with AES-128-GCM (see dataplane_aes256.sh).
CIPHER=AES-128-GCM exec bash "$(dirname "$0")/dataplane_aes256.sh"

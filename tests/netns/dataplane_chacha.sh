#!/bin/bash
# The dataplane test with CHACHA20-POLY1305 (see dataplane_aes256.sh).
CIPHER=CHACHA20-POLY1305 exec bash "$(dirname "$0")/dataplane_aes256.sh"

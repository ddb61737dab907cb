#!/bin/bash
# The dataplane test with AES-128-GCM (see dataplane_aes256.sh), with the
# crypto on the I/O threads whatever the machine (workers 0).
CIPHER=AES-128-GCM EXTRA_CONF="workers 0" exec bash "$(dirname "$0")/dataplane_aes256.sh"

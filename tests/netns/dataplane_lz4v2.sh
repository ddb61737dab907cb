#!/bin/bash
# The dataplane test with LZ4-v2 compression on both ends (see dataplane_aes256.sh).
EXTRA_CONF=$'compress lz4-v2\nallow-compression yes' exec bash "$(dirname "$0")/dataplane_aes256.sh"

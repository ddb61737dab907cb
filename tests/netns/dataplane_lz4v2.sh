#!/bin/bash
# The dataplane test with LZ4-v2 compression on both ends (see dataplane_aes256.sh).
# EXPECT_COMP: the counters must show LZ4 compressing and decompressing on both ends.
EXTRA_CONF=$'compress lz4-v2\nallow-compression yes' EXPECT_COMP=lz4 \
	exec bash "$(dirname "$0")/dataplane_aes256.sh"

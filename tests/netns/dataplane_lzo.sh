#!/bin/bash
# The dataplane test with LZO (comp-lzo yes) on both ends (see dataplane_aes256.sh).
# EXPECT_COMP: the counters must show LZO compressing and decompressing on both ends.
EXTRA_CONF=$'comp-lzo yes\nallow-compression yes' EXPECT_COMP=lzo \
	exec bash "$(dirname "$0")/dataplane_aes256.sh"

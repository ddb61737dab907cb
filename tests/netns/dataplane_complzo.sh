#!/bin/bash
# The dataplane test with the comp-lzo stub framing (see dataplane_aes256.sh).
EXTRA_CONF="comp-lzo no" exec bash "$(dirname "$0")/dataplane_aes256.sh"

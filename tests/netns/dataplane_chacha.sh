#!/bin/bash
# The dataplane test with CHACHA20-POLY1305 (see dataplane_aes256.sh), on two
# crypto threads per direction (workers 2): order across workers, and the
# threaded path on a machine small enough to seal inline by default.
CIPHER=CHACHA20-POLY1305 EXTRA_CONF="workers 2" exec bash "$(dirname "$0")/dataplane_aes256.sh"

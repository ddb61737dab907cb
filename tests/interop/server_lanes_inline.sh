#!/bin/bash
# server_lanes.sh with workers 0: each lane's tun_rx seals and its link_rx
# opens, with no crypto threads (sluice server only; a stock server runs it
# as server_lanes does).
LANE_WORKERS=0 exec bash "$(dirname "$0")/server_lanes.sh"

#!/bin/bash
# client_tcp_iperf3.sh - client_tcp.sh with the iperf3 runs (Mbit/s each way, printed).
IPERF=1 exec bash "$(dirname "$0")/client_tcp.sh"

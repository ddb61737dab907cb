#!/bin/bash
# client_tcp_tls_crypt.sh - client_tcp.sh with --tls-crypt on both ends.
MODE=tls-crypt exec bash "$(dirname "$0")/client_tcp.sh"

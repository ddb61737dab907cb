#!/bin/bash
# client_tcp_tls_auth.sh - client_tcp.sh with --tls-auth on both ends.
MODE=tls-auth exec bash "$(dirname "$0")/client_tcp.sh"

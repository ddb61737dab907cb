#!/bin/bash
# server_tcp_tls_crypt_v2.sh - server_tcp.sh with tls-crypt-v2 (a client key
# per client) instead of tls-crypt (SERVER_IMPL=sluice|stock).
# Exit 0 pass, 1 fail, 77 skip.
TCP_WRAP=tls-crypt-v2 exec "$(dirname "$0")/server_tcp.sh"

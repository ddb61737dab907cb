#!/bin/bash
# server_tcp_tls_auth.sh - server_tcp.sh with tls-auth instead of tls-crypt
# (SERVER_IMPL=sluice|stock). Exit 0 pass, 1 fail, 77 skip.
TCP_WRAP=tls-auth exec "$(dirname "$0")/server_tcp.sh"

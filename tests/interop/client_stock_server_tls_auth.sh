#!/bin/bash
# client_stock_server_tls_auth.sh - client_stock_server.sh with --tls-auth (key direction 0/1).
MODE=tls-auth exec bash "$(dirname "$0")/client_stock_server.sh"

#!/bin/bash
# client_stock_server_tls_crypt.sh - client_stock_server.sh with --tls-crypt on both ends.
MODE=tls-crypt exec bash "$(dirname "$0")/client_stock_server.sh"

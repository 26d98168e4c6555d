#!/bin/bash
# nginx's settings from the environment (SERVER_*).
echo "10-nginx-config.sh" >>/tmp/boot-order
conf=/etc/nginx/nginx.conf
if [[ -n $SERVER_KEEPALIVE ]]; then
    sed -i "s/keepalive_timeout .*/keepalive_timeout ${SERVER_KEEPALIVE};/" "$conf"
fi
if [[ -n $SERVER_WORKER_CONNECTIONS ]]; then
    sed -i "s/worker_connections .*/worker_connections ${SERVER_WORKER_CONNECTIONS};/" "$conf"
fi

#!/bin/sh
# nginx's site, from its template and the environment.
echo "10-init-webserver-config.sh" >>/tmp/boot-order
sed -e "s|\${NGINX_HTTP_PORT}|$NGINX_HTTP_PORT|g" -e "s|\${NGINX_WEBROOT}|$NGINX_WEBROOT|g" \
    /etc/nginx/site-opts.d/http.conf.template >/etc/nginx/site-opts.d/http.conf

# What a container started as the non-root user (docker run --user www-data) writes:
# s6-overlay's runtime tree, the services (worker.sh), nginx's configuration, the web root.
chown -R "${NOT_ROOT_USER}:${NOT_ROOT_USER}" \
    /var/run/s6 \
    /etc/services.d \
    /etc/nginx \
    /var/www/html

#!/bin/bash
# The application's page.
echo "20-index-page.sh" >>/tmp/boot-order
echo "Hello from the behance-like image (${SERVER_APP_NAME})" >/var/www/html/index.html

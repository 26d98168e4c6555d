#!/bin/sh
echo "50-laravel-automations.sh" >>/tmp/boot-order
if [ "$AUTORUN_ENABLED" != "true" ]; then
    exit 0
fi
echo "running the application's automations"

#!/bin/sh
echo "0-container-info.sh" >>/tmp/boot-order
if [ "$SHOW_WELCOME_MESSAGE" = "true" ]; then
    echo "
--------------------------------------------------------------------
serversideup-like PHP image: user $(id -un) ($(id -u):$(id -g))
--------------------------------------------------------------------"
fi

#!/bin/bash
# What a user mounts at /custom-cont-init.d: run by init-custom-files, after the mods.
echo "custom-cont-init.d/10-hello.sh" >>/tmp/boot-order

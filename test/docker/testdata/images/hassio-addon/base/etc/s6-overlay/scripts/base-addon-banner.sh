#!/command/with-contenv bashio
# shellcheck shell=bash
# The add-on's banner, before anything of the add-on runs.
echo "base-addon-banner" >>/tmp/boot-order
bashio::log.blue '-----------------------------------------------------------'
bashio::log.blue " Add-on: $(bashio::config name 'Example add-on')"
bashio::log.blue '-----------------------------------------------------------'

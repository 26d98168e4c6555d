#!/command/with-contenv bashio
# shellcheck shell=bash
# The log level the add-on's options ask for, for every later script.
echo "base-addon-log-level" >>/tmp/boot-order
level=$(bashio::config log_level info)
printf '%s' "$level" >/run/bashio-log-level
bashio::log.info "Log level is set to ${level^^}"

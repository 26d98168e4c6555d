#!/bin/bash
# Runs /run.d/*.sh in name order, then the process manager with this script's arguments as
# its CMD. A run.d script failing stops the container with its code; exiting
# $SIGNAL_BUILD_STOP (99), cleanly.
for script in /run.d/*.sh; do
    [[ -f $script ]] || continue
    echo "[run] executing ${script}"
    /bin/bash -e "$script"
    code=$?
    if [[ $code -eq $SIGNAL_BUILD_STOP ]]; then
        echo "[run] exit signalled - ${script}"
        exit 0
    fi
    if [[ $code -ne 0 ]]; then
        echo "[run] failed executing - ${script}"
        exit $code
    fi
done
echo "[run] starting process manager"
exec /init "$@"

#!/bin/bash -e
# worker.sh N COMMAND...: the image runs N supervised copies of COMMAND instead of nginx
# (docker run IMAGE /worker.sh 3 /bin/binary -parameters -that -binary -receives).
n=$1
shift || true
if ! [[ $n =~ ^[1-9][0-9]*$ ]] || [[ $# -eq 0 ]]; then
    echo "usage: worker.sh N COMMAND..." >&2
    exit 1
fi
rm -rf /etc/services.d/nginx
for i in $(seq 1 "$n"); do
    dir=/etc/services.d/worker-$i
    mkdir -p "$dir"
    echo '#!/bin/bash' >"$dir/run"
    echo "exec $*" >>"$dir/run"
done
echo "[worker] $n copies of: $*"
exec /bin/bash /run.sh

#!/bin/sh
# demo.sh TARBALL: install ignity and the example configuration of
# examples/demo into a busybox root filesystem, boot it as PID 1 of fresh
# namespaces (unshare + chroot), show it working, stop it with SIGTERM as
# docker stop does, and report the exit status. Needs root.
set -eu

tarball=${1:?usage: demo.sh TARBALL}
port=18080
cache=${IGNITY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ignity}
base=$cache/rootfs/busybox
[ -d "$base" ] || { mkdir -p "$cache/rootfs"; sh scripts/mkrootfs.sh busybox "$base.tmp.$$" && mv "$base.tmp.$$" "$base"; }

root=$(mktemp -d /tmp/ignity-demo.XXXXXX)
trap 'rm -rf "$root"' EXIT
cp -a "$base/." "$root/"
tar -xzf "$tarball" -C "$root"
cp -a examples/demo/. "$root/"
mkdir -p "$root/var/log/ticker" "$root/srv/www"

echo "== booting /init as PID 1 in $root"
unshare --pid --fork --mount --uts --ipc --mount-proc="$root/proc" \
	sh -c 'mount --rbind /dev "$1/dev" && exec chroot "$1" /init' sh "$root" &
outer=$!

# The PID 1 of the namespace is the child of unshare.
pid1=""
for _ in $(seq 200); do
	pid1=$(cat /proc/$outer/task/$outer/children 2>/dev/null | awk '{print $1}')
	[ -n "$pid1" ] && [ "$(cat /proc/$pid1/comm 2>/dev/null)" = s6-svscan ] && break
	sleep 0.05
done
[ -n "$pid1" ] || { echo "demo: PID 1 did not come up" >&2; exit 1; }

answer=""
for _ in $(seq 100); do
	answer=$("$root/bin/busybox" wget -qO- "http://127.0.0.1:$port/" 2>/dev/null) && break
	sleep 0.05
done
echo "== HTTP answer from the web service: $answer"
echo "== services:"
for s in web ticker; do
	printf '%s: ' "$s"
	chroot "$root" /usr/bin/s6-svstat "/run/ignity/services-state/$s"
done
echo "== processes in the container (no Go process stays resident):"
ps -eo pid=,ppid=,args= | awk -v root="$pid1" '
	{ parent[$1] = $2; line[$1] = $0 }
	END { for (p in line) { q = p; while (q != "" && q != root && q in parent) q = parent[q]; if (q == root) print "   " line[p] } }' | sort -n

echo "== docker stop: SIGTERM to PID 1"
kill -TERM "$pid1"
status=0
wait "$outer" || status=$?
echo "== the container exited with status $status; the ticker's log:"
tail -n 3 "$root/var/log/ticker/current" | sed 's/^/   /'
[ -n "$answer" ] && [ "$status" = 0 ]

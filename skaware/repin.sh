#!/bin/sh
# repin.sh: rewrite packages.lock with the versions and checksums apt serves now.
#
# Run after apt-get update when fetch.sh reports a pinned version is no longer served.
# Each package moves to apt's candidate version; its .deb is downloaded and hashed.
# The header comments are kept. Review the resulting diff like code.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
lock=$here/packages.lock
dl=$(mktemp -d)
trap 'rm -rf "$dl" "$lock.new"' EXIT
# apt downloads as the unprivileged _apt user when it can write the directory.
chown _apt "$dl" 2>/dev/null || true

{
	grep '^#' "$lock"
	grep -v -e '^#' -e '^[[:space:]]*$' "$lock" | while read -r name old arch _; do
		new=$(apt-cache policy "$name:$arch" </dev/null | sed -n 's/^ *Candidate: //p')
		case $new in '' | '(none)')
			echo "repin.sh: apt serves no $name:$arch; run apt-get update, or drop it from the lock" >&2
			exit 1
			;;
		esac
		(cd "$dl" && apt-get download -q "$name:$arch=$new" </dev/null >&2)
		echo "$name $new $arch $(sha256sum "$dl"/*.deb | cut -d' ' -f1)"
		rm -f "$dl"/*.deb
		[ "$new" = "$old" ] || echo "repin.sh: $name $old -> $new" >&2
	done
} >"$lock.new"
mv "$lock.new" "$lock"

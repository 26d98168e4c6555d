#!/bin/sh
# repin.sh: rewrite packages.lock with the versions and checksums Debian trixie serves now.
#
# Run when fetch.sh reports a pinned version is no longer served. It refreshes the
# package lists of the private apt configuration (apt.sh); each package, for each of its
# architectures, moves to apt's candidate version, whose .deb is downloaded and hashed.
# The header comments are kept. Review the resulting diff like code.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
. "$here/apt.sh"
lock=$here/packages.lock
dl=$(mktemp -d)
trap 'rm -rf "$dl" "$lock.new"' EXIT
# apt downloads as the unprivileged _apt user when it can write the directory.
chown _apt "$dl" 2>/dev/null || true
sk_apt_update

{
	grep '^#' "$lock"
	grep -v -e '^#' -e '^[[:space:]]*$' "$lock" | while read -r name old arch _; do
		new=$(sk_apt_cache policy "$name:$arch" | sed -n 's/^ *Candidate: //p')
		case $new in '' | '(none)')
			echo "repin.sh: $sk_suite serves no $name:$arch; drop it from the lock, or rename it" >&2
			exit 1
			;;
		esac
		(cd "$dl" && sk_apt_get download -q "$name:$arch=$new" >&2)
		echo "$name $new $arch $(sha256sum "$dl"/*.deb | cut -d' ' -f1)"
		rm -f "$dl"/*.deb
		[ "$new" = "$old" ] || echo "repin.sh: $name ($arch) $old -> $new" >&2
	done
} >"$lock.new"
mv "$lock.new" "$lock"

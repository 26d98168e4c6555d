#!/bin/sh
# docker-base.sh [KIND...]: make the local base images of ignity's Docker
# tests, ignity-base:debian, ignity-base:busybox and ignity-base:web (default: all), without
# a registry: the root filesystem scripts/mkrootfs.sh builds, imported with
# `docker import`. ignity-base:busybox is what FROM scratch plus Debian's
# busybox-static would give.
#
# The root filesystems are the ones the namespace tests use, cached under
# ${IGNITY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ignity}/rootfs/KIND with the
# same stamp and lock (internal/harness/rootfs.go): one built there is reused,
# one built here is reused by the harness. Each image carries the label
# ignity.base.hash, a hash of this script, mkrootfs.sh and the rootfs stamp;
# an image whose label matches is kept, so a second run imports nothing.
# Exit codes: 0 ok, 100 usage, 111 system failure.
set -eu

die() { echo "docker-base: $*" >&2; exit 111; }
cd "$(dirname "$0")/.."
cache=${IGNITY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ignity}/rootfs
kinds=${*:-debian busybox web}

# The web base: Debian minbase with Debian's nginx, php-fpm and curl, for the
# Docker tests of real daemons (health checks, nginx's recovery from kill -9).
# debootstrap --include builds it from apt's cache when the packages are there.
web_include=nginx,php-fpm,curl

# rootfs KIND: make sure $cache/KIND is current; the caller holds its lock.
# Same protocol as the harness: build beside it, retire the outdated tree
# (tests may still have it mounted as an overlay's lower layer), rename.
rootfs() {
	dir=$cache/$1
	want=$(sha256sum scripts/mkrootfs.sh | cut -d' ' -f1)
	if [ "$1" = web ]; then
		want=$(printf 'web %s %s' "$web_include" "$want" | sha256sum | cut -d' ' -f1)
	fi
	if [ -d "$dir" ] && [ "$(cat "$dir.stamp" 2>/dev/null)" = "$want" ]; then
		return 0
	fi
	echo "docker-base: building the $1 root filesystem in $dir" >&2
	build=$(mktemp -d "$cache/.$1.build-XXXXXX")
	if [ "$1" = web ]; then
		debootstrap --variant=minbase --include="$web_include" bookworm "$build/root" >&2 ||
			{ rm -rf "$build"; die "debootstrap --include=$web_include failed"; }
		# debootstrap copies the host's resolver and name; the engine provides both.
		rm -f "$build/root/etc/resolv.conf" "$build/root/etc/hostname"
	else
		sh scripts/mkrootfs.sh "$1" "$build/root" || { rm -rf "$build"; die "mkrootfs.sh $1 failed"; }
	fi
	if [ -e "$dir" ]; then
		mv "$dir" "$cache/.$1.old-$(date +%s)"
	fi
	mv "$build/root" "$dir"
	rmdir "$build"
	printf '%s' "$want" >"$dir.stamp"
}

for kind in $kinds; do
	case $kind in
	debian | busybox | web) ;;
	*) echo "docker-base: unknown kind \"$kind\" (debian, busybox or web)" >&2; exit 100 ;;
	esac
	tag=ignity-base:$kind
	mkdir -p "$cache" || die "cannot create $cache"
	# The lock is held until the import has read the tree.
	(
		flock 9
		rootfs "$kind"
		dir=$cache/$kind
		hash=$( (cat scripts/docker-base.sh scripts/mkrootfs.sh "$dir.stamp"
			stat -c %Y "$dir.stamp") | sha256sum | cut -c1-32)
		old=$(docker image inspect -f '{{.Id}} {{index .Config.Labels "ignity.base.hash"}}' "$tag" 2>/dev/null || true)
		if [ "${old#* }" = "$hash" ]; then
			echo "docker-base: $tag is current ($hash)"
			exit 0
		fi
		tar -C "$dir" --numeric-owner -c . |
			docker import --change "LABEL ignity.base.hash=$hash" \
				--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
				- "$tag" >/dev/null || die "docker import of $dir as $tag failed"
		# The image the tag left behind, unless something still uses it.
		if [ -n "$old" ]; then
			docker rmi "${old%% *}" >/dev/null 2>&1 || true
		fi
		echo "docker-base: imported $tag ($hash) from $dir"
	) 9>"$cache/$kind.lock"
done

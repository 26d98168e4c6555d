#!/bin/sh
# mkrootfs.sh KIND DIR: build a clean base root filesystem for ignity's
# integration tests (and for `docker import`) in DIR, which must not exist or
# be empty.
#   busybox        Debian's busybox-static at /bin/busybox, applet links in /bin,
#                  minimal /etc; not usrmerged (/bin is a real directory)
#   busybox-arm64  the same with Debian trixie's arm64 busybox-static, for the
#                  aarch64 release (through skaware/apt.sh's private apt
#                  configuration: the host's apt has no arm64; its applets are
#                  listed by running it under qemu-aarch64-static)
#   debian         Debian bookworm, debootstrap --variant=minbase (usrmerged)
# Exit codes: 0 ok, 100 usage, 111 system failure.
set -eu

die() { echo "mkrootfs: $*" >&2; exit 111; }
[ $# -eq 2 ] || { echo "usage: mkrootfs.sh busybox|busybox-arm64|debian DIR" >&2; exit 100; }
here=$(cd "$(dirname "$0")" && pwd)
kind=$1 dir=$2
[ ! -e "$dir" ] || [ -z "$(ls -A "$dir")" ] || die "$dir is not empty"

case $kind in
busybox | busybox-arm64)
	work=$(mktemp -d)
	trap 'rm -rf "$work"' EXIT
	run=
	if [ "$kind" = busybox ]; then
		(cd "$work" && apt-get download -q busybox-static >&2) ||
			die "apt-get download busybox-static failed (apt lists missing? run apt-get update)"
	else
		command -v qemu-aarch64-static >/dev/null || die "qemu-aarch64-static not found (scripts/setup.sh installs qemu-user-static)"
		run=qemu-aarch64-static
		. "$here/../skaware/apt.sh"
		sk_apt_ready
		(cd "$work" && sk_apt_get download -q busybox-static:arm64 >&2) ||
			die "apt-get download busybox-static:arm64 ($sk_suite) failed"
	fi
	dpkg-deb -x "$work"/busybox-static_*.deb "$work/deb"
	mkdir -p "$dir"
	cd "$dir"
	mkdir -p bin etc dev proc run root tmp
	# bookworm ships /bin/busybox, trixie (usrmerged) /usr/bin/busybox.
	for b in bin/busybox usr/bin/busybox ""; do
		[ -n "$b" ] || die "busybox-static has no busybox program"
		if [ -f "$work/deb/$b" ]; then cp "$work/deb/$b" bin/busybox && break; fi
	done
	for applet in $($run bin/busybox --list); do
		[ "$applet" = busybox ] || ln -s busybox "bin/$applet"
	done
	printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' \
		'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' >etc/passwd
	printf '%s\n' 'root:x:0:' 'nogroup:x:65534:' >etc/group
	chmod 1777 tmp
	chmod 700 root
	;;
debian)
	debootstrap --variant=minbase bookworm "$dir" >&2 || die "debootstrap failed"
	cd "$dir"
	# debootstrap copies the host's resolver and name; the engine provides both.
	rm -f etc/resolv.conf etc/hostname
	rm -f var/cache/apt/archives/*.deb var/cache/apt/*.bin
	rm -rf var/lib/apt/lists/* var/log/bootstrap.log
	;;
*)
	echo "mkrootfs: unknown kind \"$kind\" (busybox or debian)" >&2
	exit 100
	;;
esac
chmod 755 .

#!/bin/sh
# fetch.sh OUTDIR [ARCH]: stage Debian's skaware for ARCH (amd64, the default, or arm64),
# relocated to run on any image of that architecture.
#
# Downloads the .debs pinned in packages.lock for ARCH into a cache, through the private
# apt configuration of apt.sh (Debian trixie), refuses any whose sha256 differs, and
# builds in OUTDIR (absent or empty) a tree with the s6 and execline programs at Debian's
# paths, their libraries and glibc's loader in /usr/lib/ignity/lib, every program's
# interpreter and DT_RPATH pointing there, and usr/lib/ignity/MANIFEST listing what went
# in. DT_RPATH (not RUNPATH) is searched for indirect dependencies too and before
# LD_LIBRARY_PATH, so nothing in the image can slip another libc under these programs.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
. "$here/apt.sh"
lock=$here/packages.lock
out=${1:?usage: fetch.sh OUTDIR [amd64|arm64]}
arch=${2:-amd64}
cache=${XDG_CACHE_HOME:-${HOME:?}/.cache}/ignity/debs
libdir=/usr/lib/ignity/lib

die() { echo "fetch.sh: $*" >&2; exit 1; }
sha() { sha256sum "$1" | cut -d' ' -f1; }

case $arch in
amd64) triplet=x86_64-linux-gnu loader=ld-linux-x86-64.so.2 ;;
arm64) triplet=aarch64-linux-gnu loader=ld-linux-aarch64.so.1 ;;
*) die "unknown architecture \"$arch\" (amd64 or arm64)" ;;
esac

# served NAME VERSION ARCH: whether the private apt lists offer that exact package.
served() { sk_apt_cache show "$1:$3=$2" 2>/dev/null | grep -q '^Package:'; }

# download NAME VERSION ARCH: fetch that exact .deb into the cache.
download() {
	sk_apt_ready
	if ! served "$@"; then
		sk_apt_update
		served "$@" || die "$1 $2 ($3) is no longer served by $sk_suite; re-pin with" \
			"skaware/repin.sh and review the diff of skaware/packages.lock"
	fi
	dl=$(mktemp -d)
	# apt downloads as the unprivileged _apt user when it can write the directory.
	chown _apt "$dl" 2>/dev/null || true
	if ! (cd "$dl" && sk_apt_get download -q "$1:$3=$2" >&2); then
		rm -rf "$dl"
		die "apt-get download $1:$3=$2 failed"
	fi
	mv "$dl"/*.deb "$cache/$1_$2_$3.deb"
	rm -rf "$dl"
}

# take NAME VERSION ARCH SHA256: make sure the cache holds that .deb with that checksum,
# unpack it into $work/NAME and record it in the manifest.
take() {
	deb=$cache/$1_$2_$3.deb
	if [ ! -f "$deb" ] || [ "$(sha "$deb")" != "$4" ]; then
		download "$1" "$2" "$3"
	fi
	got=$(sha "$deb")
	[ "$got" = "$4" ] || die "refusing $1 $2 ($deb): sha256 expected $4, actual $got"
	dpkg-deb -x "$deb" "$work/$1"
	echo "$1 $2 $4" >>"$work/MANIFEST"
}

mkdir -p "$cache" "$out"
[ -z "$(ls -A "$out")" ] || die "$out is not empty"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

while read -r name version parch sum; do
	case $name in '' | \#*) continue ;; esac
	[ "$parch" = "$arch" ] || continue
	take "$name" "$version" "$arch" "$sum"
done <"$lock"
for p in s6 execline libc6; do
	[ -d "$work/$p" ] || die "$lock pins no $p for $arch"
done

# Programs at Debian's paths; no docs, man pages or lintian overrides.
mkdir -p "$out/usr" "$out$libdir"
for p in s6 execline; do
	for d in bin lib; do
		if [ -d "$work/$p/usr/$d" ]; then cp -a "$work/$p/usr/$d" "$out/usr/"; fi
	done
done
# Nothing under bin/: unpacked and COPY'd into an image, a bin/ directory
# replaces a usrmerged image's /bin -> usr/bin symlink. install-ignity.sh
# provides /bin/execlineb where /bin is a real directory.

# Libraries as real files named by their soname, and glibc's loader.
for p in "$work"/lib*; do
	if [ "$p" = "$work/libc6" ]; then continue; fi
	for so in "$p"/usr/lib/*/lib*.so.*; do
		if [ -L "$so" ]; then cp -L "$so" "$out$libdir/"; fi
	done
done
for f in libc.so.6 "$loader"; do
	for d in lib usr/lib; do
		if [ -f "$work/libc6/$d/$triplet/$f" ]; then
			cp -L "$work/libc6/$d/$triplet/$f" "$out$libdir/"
		fi
	done
	[ -f "$out$libdir/$f" ] || die "libc6 ($arch) has no $f"
done
for so in "$out$libdir"/lib*.so.*; do
	case ${so##*/} in libc.so.*) continue ;; esac
	patchelf --force-rpath --set-rpath "$libdir" "$so"
done

# Point every ELF program at the private loader and libraries; ELF files without an
# interpreter (none today) and scripts such as usr/bin/execlineb are left alone.
find "$out" -type f ! -path "*$libdir/*" | while read -r f; do
	patchelf --print-interpreter "$f" >/dev/null 2>&1 || continue
	patchelf --set-interpreter "$libdir/$loader" --force-rpath --set-rpath "$libdir" "$f"
	for need in $(patchelf --print-needed "$f"); do
		[ -f "$out$libdir/$need" ] || die "${f#"$out"/} needs $need, which is not staged"
	done
done

cp "$work/MANIFEST" "$out/usr/lib/ignity/MANIFEST"

#!/bin/sh
# fetch.sh OUTDIR: stage Debian's skaware, relocated to run on any image.
#
# Downloads the .debs pinned in packages.lock (and the current libc6) into a cache,
# refuses any whose sha256 differs, and builds in OUTDIR (absent or empty) a tree with
# the s6 and execline programs at Debian's paths, their libraries and glibc's loader in
# /usr/lib/ignity/lib, every program's interpreter and DT_RPATH pointing there, and
# usr/lib/ignity/MANIFEST listing what went in. DT_RPATH (not RUNPATH) is searched
# for indirect dependencies too and before LD_LIBRARY_PATH, so nothing in the image
# can slip another libc under these programs.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
lock=$here/packages.lock
out=${1:?usage: fetch.sh OUTDIR}
cache=${XDG_CACHE_HOME:-${HOME:?}/.cache}/ignity/debs
libdir=/usr/lib/ignity/lib
loader=ld-linux-x86-64.so.2

die() { echo "fetch.sh: $*" >&2; exit 1; }
sha() { sha256sum "$1" | cut -d' ' -f1; }

# download NAME VERSION ARCH: fetch that exact .deb into the cache.
download() {
	if ! apt-cache show "$1:$3=$2" 2>/dev/null </dev/null | grep -q '^Package:'; then
		die "$1 $2 ($3) is no longer served (after apt-get update); re-pin with" \
			"skaware/repin.sh and review the diff of skaware/packages.lock"
	fi
	dl=$(mktemp -d)
	# apt downloads as the unprivileged _apt user when it can write the directory.
	chown _apt "$dl" 2>/dev/null || true
	if ! (cd "$dl" && apt-get download -q "$1:$3=$2" </dev/null >&2); then
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

arch=
while read -r name version parch sum; do
	case $name in '' | \#*) continue ;; esac
	arch=$parch
	take "$name" "$version" "$arch" "$sum"
done <"$lock"
[ -n "$arch" ] || die "$lock pins no package"

# libc6: the current version, checked against the checksum in apt's signed index.
libc=$(apt-cache policy "libc6:$arch" </dev/null | sed -n 's/^ *Candidate: //p')
case $libc in '' | '(none)') die "apt serves no libc6:$arch; run apt-get update" ;; esac
libcsum=$(apt-cache show "libc6:$arch=$libc" </dev/null | sed -n 's/^SHA256: //p' | head -n 1)
[ -n "$libcsum" ] || die "apt's index has no sha256 for libc6 $libc"
take libc6 "$libc" "$arch" "$libcsum"

# Programs at Debian's paths; no docs, man pages or lintian overrides.
mkdir -p "$out/usr" "$out$libdir"
for p in s6 execline; do
	cp -a "$work/$p/usr/bin" "$work/$p/usr/lib" "$out/usr/"
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
		if [ -f "$work/libc6/$d/x86_64-linux-gnu/$f" ]; then
			cp -L "$work/libc6/$d/x86_64-linux-gnu/$f" "$out$libdir/"
		fi
	done
	[ -f "$out$libdir/$f" ] || die "libc6 $libc has no $f"
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

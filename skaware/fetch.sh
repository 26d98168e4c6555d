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
#
# The patching is done by trixie's patchelf, pinned in packages.lock for the build
# machine's architecture with what it runs on, and never shipped. Bookworm's patchelf
# 0.14 moves .note.gnu.property without moving the PT_GNU_PROPERTY header that points
# at it (fixed in patchelf 0.17): qemu-user then refuses to run the aarch64 programs
# ("Invalid note in PT_GNU_PROPERTY"), and glibc reads junk for their BTI/CET flags.
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

# abi ARCH: glibc's library directory and loader for ARCH.
abi() {
	case $1 in
	amd64) echo x86_64-linux-gnu ld-linux-x86-64.so.2 ;;
	arm64) echo aarch64-linux-gnu ld-linux-aarch64.so.1 ;;
	*) die "unknown architecture \"$1\" (amd64 or arm64)" ;;
	esac
}
read -r triplet loader <<EOF2
$(abi "$arch")
EOF2
host=$(dpkg --print-architecture)
read -r htriplet hloader <<EOF2
$(abi "$host")
EOF2
# The build's own tools: pinned, never shipped (libc6 of the build machine aside).
tools="patchelf libstdc++6 libgcc-s1"

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

# take NAME VERSION ARCH SHA256 DIR: make sure the cache holds that .deb with that
# checksum, and unpack it into DIR.
take() {
	deb=$cache/$1_$2_$3.deb
	if [ ! -f "$deb" ] || [ "$(sha "$deb")" != "$4" ]; then
		download "$1" "$2" "$3"
	fi
	got=$(sha "$deb")
	[ "$got" = "$4" ] || die "refusing $1 $2 ($deb): sha256 expected $4, actual $got"
	dpkg-deb -x "$deb" "$5"
}

# pe ARGS: trixie's patchelf, run by trixie's loader on the build machine.
pe() {
	"$work/tools/usr/lib/$htriplet/$hloader" --library-path "$work/tools/usr/lib/$htriplet" \
		"$work/tools/usr/bin/patchelf" "$@"
}

mkdir -p "$cache" "$out"
[ -z "$(ls -A "$out")" ] || die "$out is not empty"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

while read -r name version parch sum; do
	case $name in '' | \#*) continue ;; esac
	case " $tools " in *" $name "*) continue ;; esac
	[ "$parch" = "$arch" ] || continue
	take "$name" "$version" "$arch" "$sum" "$work/$name"
	echo "$name $version $sum" >>"$work/MANIFEST"
done <"$lock"
for p in s6 execline libc6; do
	[ -d "$work/$p" ] || die "$lock pins no $p for $arch"
done
for name in $tools libc6; do
	read -r version sum <<EOF2
$(awk -v n="$name" -v a="$host" '$1 == n && $3 == a { print $2, $4 }' "$lock")
EOF2
	[ -n "$version" ] || die "$lock pins no $name for $host, the build machine (patchelf runs on it)"
	take "$name" "$version" "$host" "$sum" "$work/tools"
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
	pe --force-rpath --set-rpath "$libdir" "$so"
done

# Point every ELF program at the private loader and libraries; ELF files without an
# interpreter (none today) and scripts such as usr/bin/execlineb are left alone.
find "$out" -type f ! -path "*$libdir/*" | while read -r f; do
	pe --print-interpreter "$f" >/dev/null 2>&1 || continue
	pe --set-interpreter "$libdir/$loader" --force-rpath --set-rpath "$libdir" "$f"
	for need in $(pe --print-needed "$f"); do
		[ -f "$out$libdir/$need" ] || die "${f#"$out"/} needs $need, which is not staged"
	done
done

cp "$work/MANIFEST" "$out/usr/lib/ignity/MANIFEST"

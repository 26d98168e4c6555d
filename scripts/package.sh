#!/usr/bin/env bash
# package.sh: build the release tarball dist/ignity-VERSION-x86_64.tar.gz and its .sha256.
#
# Run from the repository root. Environment: GO (go command, default go), BUILD (work
# directory, default build), DIST (output directory, default dist), SOURCE_DATE_EPOCH
# (mtime of every entry, default 0).
#
# The tarball holds no directory entries, only files and symlinks: extracting it at / then
# never replaces a /bin, /sbin or /lib that is a symlink (usrmerged images). It is
# reproducible: same sources and same .debs give the same bytes.
set -euo pipefail

GO=${GO:-go}
BUILD=${BUILD:-build}
DIST=${DIST:-dist}
epoch=${SOURCE_DATE_EPOCH:-0}
version=$(cat VERSION)
name=ignity-$version-x86_64.tar.gz
root=$BUILD/root

# The Go multicall binary: static, no build paths, no build id.
mkdir -p "$BUILD" "$DIST"
CGO_ENABLED=0 "$GO" build -trimpath -ldflags "-s -w -buildid= -X main.version=$version" \
	-o "$BUILD/ignity" ./cmd/ignity-init

rm -rf "$BUILD/skaware" "$root"
sh skaware/fetch.sh "$BUILD/skaware"

# The tree, as it lands in an image's root.
mkdir -p "$root"
cp -a "$BUILD/skaware/." "$root/"
install -m 0755 "$BUILD/ignity" "$root/usr/bin/ignity"
ln -s usr/bin/ignity "$root/init"
for applet in with-env load-envfile fix-perms preboot with-retries; do
	ln -s ignity "$root/usr/bin/$applet"
done
mkdir -p "$root/usr/src"
install -m 0755 scripts/install-ignity.sh "$root/usr/src/install-ignity.sh"

# Normalized modes: executables 0755, the rest 0644; nothing setuid, setgid or
# group/world-writable survives.
find "$root" -type f -perm /111 -exec chmod 0755 {} +
find "$root" -type f ! -perm /111 -exec chmod 0644 {} +

# compress: gzip, as small as gzip gets. pigz -11 writes zopfli's deflate
# (about 5% smaller than gzip -9, any gunzip reads it) in some 20 s; gzip -9
# is the fallback where pigz is missing. Both are reproducible with -n.
compress() {
	if command -v pigz >/dev/null 2>&1; then
		pigz -11 -I 3 -n -c
	else
		echo "package: pigz not found (task setup installs it): gzip -9, a larger tarball" >&2
		gzip -9 -n
	fi
}

# Files and symlinks only, in a fixed order, with fixed owners and times.
(cd "$root" && find . ! -type d | sed 's|^\./||' | LC_ALL=C sort) >"$BUILD/files"
tar --create --format=gnu --no-recursion --sort=name --directory="$root" \
	--files-from="$BUILD/files" --mtime="@$epoch" \
	--owner=0 --group=0 --numeric-owner |
	compress >"$DIST/$name.tmp"
mv "$DIST/$name.tmp" "$DIST/$name"
(cd "$DIST" && sha256sum "$name" >"$name.sha256")

# Size report: compressed tarball, then the uncompressed bytes of each part.
# bytes PATTERN...: total size of the regular files under the patterns, globbed in $root.
bytes() {
	# shellcheck disable=SC2048,SC2086 # globbing the patterns inside $root is the point
	(cd "$root" && find $* -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
}
printf '%s\n' "$DIST/$name"
printf '  %-10s %9d bytes\n' \
	tarball "$(stat -c %s "$DIST/$name")" \
	ignity "$(bytes usr/bin/ignity)" \
	s6 "$(bytes 'usr/bin/s6-*' usr/bin/s6lockd usr/bin/ucspilogd usr/lib/x86_64-linux-gnu/s6)" \
	execline "$(bytes usr/lib/execline usr/bin/execlineb)" \
	libraries "$(bytes usr/lib/ignity/lib)"
printf '  %s\n' "sha256 $(cut -d' ' -f1 "$DIST/$name.sha256")"

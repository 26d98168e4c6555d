#!/usr/bin/env bash
# package.sh: build the release tarballs dist/ignity-VERSION-x86_64.tar.gz and
# dist/ignity-VERSION-aarch64.tar.gz, each with its .sha256, and dist/SHA256SUMS
# covering both.
#
# Run from the repository root. Environment: GO (go command, default go), BUILD (work
# directory, default build), DIST (output directory, default dist), SOURCE_DATE_EPOCH
# (mtime of every entry, default 0), FAST=1 (development only: x86_64 alone, gzip -1;
# the release and the tests of task test never use it).
#
# Each tarball holds Debian trixie's skaware for its architecture (skaware/fetch.sh) and
# the Go binary cross-compiled for it. It holds no directory entries, only files and
# symlinks: extracting it at / then never replaces a /bin, /sbin or /lib that is a
# symlink (usrmerged images). It is reproducible: same sources, same commit and same
# .debs give the same bytes.
set -euo pipefail

GO=${GO:-go}
BUILD=${BUILD:-build}
DIST=${DIST:-dist}
epoch=${SOURCE_DATE_EPOCH:-0}
version=$(cat VERSION)
# The commit ignity --version names; "unknown" outside a git checkout.
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)

# compress: gzip, as small as gzip gets. pigz -11 writes zopfli's deflate
# (about 5% smaller than gzip -9, any gunzip reads it) in some 20 s; gzip -9
# is the fallback where pigz is missing. Both are reproducible with -n.
compress() {
	if [ "${FAST:-}" = 1 ]; then
		gzip -1 -n
	elif command -v pigz >/dev/null 2>&1; then
		pigz -11 -I 3 -n -c
	else
		echo "package: pigz not found (task setup installs it): gzip -9, a larger tarball" >&2
		gzip -9 -n
	fi
}

# release ARCH GOARCH DEBARCH: build dist/ignity-VERSION-ARCH.tar.gz and its
# .sha256 in $BUILD/ARCH, and print its size report.
release() {
	local arch=$1 goarch=$2 debarch=$3
	local name=ignity-$version-$arch.tar.gz work=$BUILD/$arch
	local root=$work/root

	# The Go multicall binary: static, no build paths, no build id.
	mkdir -p "$work" "$DIST"
	CGO_ENABLED=0 GOOS=linux GOARCH=$goarch "$GO" build -trimpath \
		-ldflags "-s -w -buildid= -X main.version=$version -X main.commit=$commit" \
		-o "$work/ignity" ./cmd/ignity-init

	rm -rf "$work/skaware" "$root"
	sh skaware/fetch.sh "$work/skaware" "$debarch"

	# The tree, as it lands in an image's root.
	mkdir -p "$root"
	cp -a "$work/skaware/." "$root/"
	install -m 0755 "$work/ignity" "$root/usr/bin/ignity"
	ln -s usr/bin/ignity "$root/init"
	# s6-overlay's /command: every program ignity ships, so that #!/command/with-contenv
	# bash and /command/s6-svc work. Absolute links: /command is no usrmerged directory.
	# Skaware's first, before ignity's s6-* applets join /usr/bin.
	mkdir -p "$root/command"
	for prog in "$root"/usr/bin/s6-* "$root"/usr/bin/ucspilogd "$root"/usr/lib/execline/bin/*; do
		ln -s "${prog#"$root"}" "$root/command/${prog##*/}"
	done
	# ignity's applets: /usr/bin/NAME -> ignity, and /command/NAME the program itself
	# (-> /usr/bin/ignity), as in s6-overlay, where /usr/bin/with-contenv is the alias:
	# an image that replaces /usr/bin/with-contenv with a wrapper ending in
	# exec /command/with-contenv "$@" must not loop. s6-rc and s6-portable-utils'
	# programs are applets too (Debian ships neither).
	applets="with-env load-envfile fix-perms preboot with-retries logutil-service with-contenv printcontenv"
	applets="$applets s6-rc s6-echo s6-mkdir s6-chown s6-chmod s6-rmrf s6-true s6-false s6-env s6-format-filter s6-test"
	for applet in $applets; do
		ln -s ignity "$root/usr/bin/$applet"
		ln -s /usr/bin/ignity "$root/command/$applet"
	done
	ln -s /usr/bin/ignity "$root/command/ignity"
	# s6-overlay-suexec: a regular file, as image builds chmod it (nothing setuid).
	printf '#!/usr/bin/execlineb -s0\n/usr/bin/ignity s6-overlay-suexec $@\n' >"$root/command/s6-overlay-suexec"
	chmod 0755 "$root/command/s6-overlay-suexec"
	# s6-svscan's SIGTERM handler (stage1 links .s6-svscan/SIGTERM here): no Go
	# process, one pid and one thread, so that a stop needs no thread to spare.
	# It tells s6-svscan, whose cwd is the scandir, to exec its finish, stage3.
	printf '%s\n' '#!/usr/lib/execline/bin/execlineb -P' \
		'# ignity: s6-svscan SIGTERM handler; b is what s6-svscanctl -b writes' \
		'/usr/bin/s6-svscanctl -b .' >"$root/usr/lib/ignity/SIGTERM"
	chmod 0755 "$root/usr/lib/ignity/SIGTERM"
	# s6-svscan's finish and crash (stage1 links them here): stage3, whose Go
	# runtime starts with one P, so with one thread beside the exec'd PID 1
	# (sysmon) instead of one more per idle CPU: a stop may have few pids.
	printf '%s\n' '#!/usr/lib/execline/bin/execlineb -P' \
		'# ignity: s6-svscan finish and crash, stage3 with GOMAXPROCS=1' \
		'/usr/lib/execline/bin/export GOMAXPROCS 1' \
		'/usr/bin/ignity stage3' >"$root/usr/lib/ignity/stage3"
	chmod 0755 "$root/usr/lib/ignity/stage3"
	mkdir -p "$root/usr/src"
	install -m 0755 scripts/install-ignity.sh "$root/usr/src/install-ignity.sh"
	# s6-overlay v2's file that v2 images' builds edit (behance: chmod, sed): there, for
	# them to edit; ignity never reads it (README "Migrating from s6-overlay").
	mkdir -p "$root/etc/s6/init"
	printf '%s\n' '# ignity: s6-overlay v2 kept its fix-attrs lines for its own files here. ignity' \
		'# never reads this file: it is here for image builds that edit it.' \
		>"$root/etc/s6/init/init-stage2-fixattrs.txt"

	# Normalized modes: executables 0755, the rest 0644; nothing setuid, setgid or
	# group/world-writable survives.
	find "$root" -type f -perm /111 -exec chmod 0755 {} +
	find "$root" -type f ! -perm /111 -exec chmod 0644 {} +

	# Files and symlinks only, in a fixed order, with fixed owners and times.
	(cd "$root" && find . ! -type d | sed 's|^\./||' | LC_ALL=C sort) >"$work/files"
	tar --create --format=gnu --no-recursion --sort=name --directory="$root" \
		--files-from="$work/files" --mtime="@$epoch" \
		--owner=0 --group=0 --numeric-owner |
		compress >"$DIST/$name.tmp"
	mv "$DIST/$name.tmp" "$DIST/$name"
	(cd "$DIST" && sha256sum "$name" >"$name.sha256")

	# Size report: compressed tarball, then the uncompressed bytes of each part.
	printf '%s\n' "$DIST/$name"
	printf '  %-10s %9d bytes\n' \
		tarball "$(stat -c %s "$DIST/$name")" \
		ignity "$(bytes "$root" usr/bin/ignity)" \
		s6 "$(bytes "$root" 'usr/bin/s6-*' usr/bin/ucspilogd)" \
		execline "$(bytes "$root" usr/lib/execline usr/bin/execlineb)" \
		libraries "$(bytes "$root" usr/lib/ignity/lib)"
	printf '  %s\n' "sha256 $(cut -d' ' -f1 "$DIST/$name.sha256")"
}

# bytes ROOT PATTERN...: total size of the regular files under the patterns, globbed in
# ROOT.
bytes() {
	local root=$1
	shift
	# shellcheck disable=SC2048,SC2086 # globbing the patterns inside $root is the point
	(cd "$root" && find $* -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
}

release x86_64 amd64 amd64
if [ "${FAST:-}" = 1 ]; then
	(cd "$DIST" && sha256sum "ignity-$version-x86_64.tar.gz" >SHA256SUMS)
	exit 0
fi
release aarch64 arm64 arm64
(cd "$DIST" && sha256sum "ignity-$version-x86_64.tar.gz" "ignity-$version-aarch64.tar.gz" >SHA256SUMS)
printf '%s\n' "$DIST/SHA256SUMS"

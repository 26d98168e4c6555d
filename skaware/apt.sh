# skaware/apt.sh: sourced by fetch.sh, repin.sh and scripts/mkrootfs.sh. A private apt
# configuration for Debian trixie, amd64 and arm64, under the user's cache directory:
# its own sources.list, package lists, cache and (empty) dpkg status. The host's apt
# configuration never gains trixie or arm64; apt still verifies every index against the
# archive keys of debian-archive-keyring (bookworm's carries trixie's).
#
# The mirror is the one the host's apt uses for its own Debian release (and its
# -updates and -security suites), with trixie put in place of the host's codename.
# IGNITY_APT_SOURCES names a sources.list to use instead.
#
# Defines: sk_suite, sk_apt DIR, sk_apt_get ARGS, sk_apt_cache ARGS, sk_apt_update.

sk_suite=trixie
sk_apt=${XDG_CACHE_HOME:-${HOME:?}/.cache}/ignity/apt
sk_keyring=/usr/share/keyrings/debian-archive-keyring.gpg

# sk_sources: print the private sources.list.
sk_sources() {
	if [ -n "${IGNITY_APT_SOURCES:-}" ]; then
		cat "$IGNITY_APT_SOURCES"
		return
	fi
	codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
	[ -n "$codename" ] || { echo "skaware: no VERSION_CODENAME in /etc/os-release; set IGNITY_APT_SOURCES" >&2; return 1; }
	apt-get indextargets --format '$(REPO_URI) $(RELEASE)' 'Created-By: Packages' </dev/null |
		sort -u | while read -r uri release; do
			case $release in
			"$codename" | "$codename"-updates | "$codename"-security)
				echo "deb [signed-by=$sk_keyring] $uri $sk_suite${release#"$codename"} main"
				;;
			esac
		done
}

# sk_apt_opts: the options that make apt-get and apt-cache use the private configuration.
sk_apt_opts() {
	echo "-o Dir::Etc::sourcelist=$sk_apt/sources.list -o Dir::Etc::sourceparts=-" \
		"-o Dir::State::Lists=$sk_apt/lists -o Dir::Cache=$sk_apt/cache" \
		"-o Dir::State::status=$sk_apt/status -o APT::Architectures=amd64,arm64" \
		"-o Dir::Etc::preferencesparts=$sk_apt/preferences.d -o Dir::Etc::preferences=$sk_apt/preferences"
}

# shellcheck disable=SC2046 # the options are words without spaces ($HOME aside)
sk_apt_get() { apt-get $(sk_apt_opts) "$@" </dev/null; }
# shellcheck disable=SC2046
sk_apt_cache() { apt-cache $(sk_apt_opts) "$@" </dev/null; }

# sk_apt_update: (re)write the sources and fetch the package lists.
sk_apt_update() {
	mkdir -p "$sk_apt/lists/partial" "$sk_apt/cache/archives/partial" "$sk_apt/preferences.d"
	: >"$sk_apt/status"
	sk_sources >"$sk_apt/sources.list.new"
	grep -q '^deb ' "$sk_apt/sources.list.new" || {
		echo "skaware: found no Debian mirror in the host's apt sources; set IGNITY_APT_SOURCES" >&2
		return 1
	}
	mv "$sk_apt/sources.list.new" "$sk_apt/sources.list"
	sk_apt_get update -q >&2
}

# sk_apt_ready: fetch the package lists unless they are there.
sk_apt_ready() {
	if ! ls "$sk_apt"/lists/*_Packages* >/dev/null 2>&1 || [ ! -f "$sk_apt/sources.list" ]; then
		sk_apt_update
	fi
}

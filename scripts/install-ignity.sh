#!/bin/sh
# install-ignity.sh: finish installing ignity after its unpacked tree was copied to /.
#
#   COPY ignity/ /
#   RUN ["/usr/src/install-ignity.sh"]
#
# Puts execlineb at /bin/execlineb on images where /bin is a real directory, writes a
# minimal /etc/nsswitch.conf where there is none, creates /run/ignity and s6-overlay's
# runtime paths (symlinks into it), and checks that
# the binaries run on this image. Safe to run again.
# Exits 0 when ignity is ready, 1 (with a message naming the culprit) when it is not.
set -eu

die() {
	echo "install-ignity: $*" >&2
	exit 1
}

for f in /usr/bin/ignity /usr/bin/execlineb /usr/bin/s6-svscan; do
	[ -f "$f" ] || die "$f is missing: copy the whole unpacked ignity tree to / first"
done

# Scripts name /bin/execlineb in their #! line. On a usrmerged image /bin/execlineb is
# /usr/bin/execlineb already; elsewhere it needs a copy of its own (a symlink there
# would loop once the image is usrmerged).
if [ ! -e /bin/execlineb ]; then
	if [ -L /bin/execlineb ]; then
		rm -f /bin/execlineb # a dangling or looping symlink
	fi
	mkdir -p /bin
	cp /usr/bin/execlineb /bin/.execlineb.tmp
	chmod 0755 /bin/.execlineb.tmp
	mv -f /bin/.execlineb.tmp /bin/execlineb
fi

# The shipped glibc, finding no /etc/nsswitch.conf (busybox, distroless images), leaves
# errno at ENOENT after reading /etc/group, and skalibs takes that for a failure:
# `s6-setuidgid USER` dies "unable to get supplementary groups". A file that states
# glibc's own defaults for these databases avoids it and changes nothing else.
if [ ! -e /etc/nsswitch.conf ]; then
	mkdir -p /etc
	printf '%s\n' '# written by install-ignity.sh: glibc defaults, made explicit' \
		'passwd: files' 'group: files' 'shadow: files' >/etc/nsswitch.conf
	chmod 0644 /etc/nsswitch.conf
fi

# Any uid may boot ignity here (USER 1000, an arbitrary UID in group 0 as OpenShift runs
# images, an image's USER www-data): mode 1777, as /tmp. The sticky bit keeps every uid
# from removing or renaming what another made; /init keeps its state in a private
# directory it makes afresh at each boot and trusts nothing else found there.
mkdir -p /run/ignity
chown 0:0 /run/ignity
chmod 1777 /run/ignity

# s6-overlay's runtime paths, symlinks into /run/ignity (rebuilt at every boot), made
# here for images that run with a read-only root; /init makes them where it can write.
# Where /var/run is Debian's symlink to /run, /var/run/s6 is /run/s6 already. A path
# that exists and is something else is left alone: /init warns about it.
link() {
	if [ -L "$1" ] && [ "$(readlink "$1")" = "$2" ]; then
		return 0
	fi
	if [ -e "$1" ] || [ -L "$1" ]; then
		echo "install-ignity: $1 exists and is not a symlink to $2: left alone (s6-overlay's scripts will not find ignity's)" >&2
		return 0
	fi
	ln -s "$2" "$1"
}
link /run/s6 /run/ignity/s6
link /run/s6-linux-init-container-results /run/ignity/s6-linux-init-container-results
link /run/service /run/ignity/services-state
if ! [ -e /var/run ] && ! [ -L /var/run ]; then
	mkdir -p /var
	ln -s ../run /var/run # Debian's symlink, where the image has no /var/run
fi
if [ -d /var/run ] && ! [ /var/run -ef /run ]; then
	link /var/run/s6 /run/ignity/s6
fi

# check STATUS PROG ARGS...: PROG must run and exit with STATUS.
check() {
	want=$1
	shift
	if out=$("$@" 2>&1); then got=0; else got=$?; fi
	[ "$got" = "$want" ] ||
		die "$1 does not run on this image: \`$*\` exited $got, expected $want: $out"
}

check 0 /usr/bin/ignity --version
# A usage error (100) proves the loader, libc and skaware's libraries load.
check 100 /usr/bin/s6-svscan -h
check 100 /usr/bin/s6-supervise
check 100 /usr/bin/s6-svc -h
# Debian's wrapper script, then the real execlineb, then execline's exit.
check 3 /bin/execlineb -Pc 'exit 3'
check 3 /usr/bin/execlineb -Pc 'exit 3'
# User lookups through the shipped glibc, as run scripts dropping privileges do them.
if grep -q '^root:' /etc/passwd 2>/dev/null; then
	check 0 /usr/bin/s6-setuidgid root /usr/lib/execline/bin/exit 0
fi
echo "install-ignity: ignity is installed and runs on this image"

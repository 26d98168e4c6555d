#!/bin/sh
# setup.sh: install what building, packaging and testing ignity need on a
# fresh Debian bookworm machine (run as root): Debian packages, go-task,
# Go modules. Idempotent; fast when everything is there.
set -eu

# qemu-user-static runs the aarch64 release's boot test (test/aarch64); docker-compose (v1)
# the Compose example's test (test/docker); tini and dumb-init are task bench's references,
# GNU time its measure of a child's peak RSS.
packages="debootstrap busybox-static tini dumb-init gnuplot-nox pigz ca-certificates qemu-user-static docker-compose time"
missing=""
for p in $packages; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
# apt-get download (the busybox base) needs package lists even when nothing
# is missing.
if [ -n "$missing" ] || ! ls /var/lib/apt/lists/*_Packages >/dev/null 2>&1; then
	apt-get update -q
fi
if [ -n "$missing" ]; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
fi

command -v go >/dev/null 2>&1 || PATH=$PATH:/usr/local/go/bin
command -v go >/dev/null 2>&1 || { echo "setup: Go not found (expected at /usr/local/go)" >&2; exit 111; }
if ! command -v task >/dev/null 2>&1; then
	GOBIN=/usr/local/bin go install github.com/go-task/task/v3/cmd/task@v3.44.1
fi
# staticcheck, pinned: task test runs it and a finding fails the run.
# v0.8.2 is staticcheck 2026.2.2, which knows Go 1.26.
staticcheck_version=v0.8.2
if ! /usr/local/bin/staticcheck -version 2>/dev/null | grep -q "(${staticcheck_version#v})\$"; then
	GOBIN=/usr/local/bin go install "honnef.co/go/tools/cmd/staticcheck@$staticcheck_version"
fi
go mod download
# The Kubernetes example's own module (k8s.io/api, for its manifest test).
(cd examples/kubernetes && go mod download)

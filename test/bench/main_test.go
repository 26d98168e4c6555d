// Package bench_test is issue 7's benchmark, not a test: it boots the
// release tarball as true PID 1 with the project's harness, on the busybox
// base, and measures ignity against two references booted from the same
// root filesystem in the same run: no init (the CMD itself as PID 1) and
// tini (Debian's static tini, `tini -- CMD` as PID 1).
//
// Figures, each the median (min, max) of IGNITY_BENCH_RUNS runs (default
// 11, at least 7), after one discarded warm-up round; the boots of a round
// are interleaved so that drift hits every column alike:
//
//  1. full cycle of `/init true` (harness start to PID 1's exit);
//  2. start to CMD: the CMD prints CLOCK_MONOTONIC, compared with the clock
//     read just before the harness starts PID 1, minus the same figure of
//     no init in the same round;
//  3. stop: SIGTERM to PID 1 until it exits, with every service up;
//  4. steady state: RSS, PSS and private memory of every process but the
//     services and the CMD, read from the host's /proc, and the count of
//     Go (ignity) processes left once booted;
//  5. the tarball's size and what it installs;
//  6. when a Docker engine answers, with the docker CLI on ignity-base:busybox: docker run
//     to the CMD's first output and docker stop to its return, for no init, --init (Docker's
//     tini) and ignity with 0 and 1 service, interleaved (docker_test.go).
//
// The table goes to stdout and to docs/BENCHMARKS.md with the machine and
// the targets; the latencies are plotted to docs/bench-latency.png with
// gnuplot. Run it with `task bench` (IGNITY_BENCH=1, as root); without
// IGNITY_BENCH=1 it skips, so `go test ./...` does not run it.
package bench_test

import (
	"os"
	"testing"

	"github.com/ignity/ignity/internal/harness"
)

func TestMain(m *testing.M) {
	harness.Init()
	os.Exit(m.Run())
}

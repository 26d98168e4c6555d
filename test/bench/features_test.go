package bench_test

// What the production-service features cost, measured in every round of
// TestBench beside the main figures: the log prefixer's memory, a leaky
// service's restart and stop with and without the leftover cleanup, and
// one `ignity health`.

import (
	"fmt"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/ignity/ignity/internal/boottest"
	"github.com/ignity/ignity/internal/harness"
)

// features is what the rounds measured of them.
type features struct {
	// prefixed: the 10-service container with IGNITY_LOG_PREFIX=1.
	prefixed *running
	// clean and keep: a leaky service (it leaves a sleep in its process
	// group), with the cleanup (the default) and with keep-leftovers.
	clean, keep leak
	// health: ms per `env -i ignity health`, 10 services, no health program.
	health series
}

// leak: ms from SIGKILL of the leaky service's main process to its next
// run's first clock read, and the container's stop, SIGTERM → exit.
type leak struct{ restart, stop series }

// healthRuns is how many probes one boot times back to back.
const healthRuns = 50

// leakyRun starts a sleep that stays in the service's process group, reads
// the clock, says it is ready and becomes the service's main process.
// Ready: s6-supervise restarts a service that was ready for more than a
// second at once, and pauses a second before any other restart.
const leakyRun = "#!/bin/sh\nsleep 1000 &\n" + helperPath + "\necho >&3\nexec sleep 1000 3>&-\n"

// featureRoots makes the roots the feature figures boot: a leaky service
// with the cleanup, the same with keep-leftovers, and ten services for
// the probe.
func featureRoots(t *testing.T, tarball string, helper []byte) (clean, keep, health *harness.Root) {
	mk := func(keepLeftovers bool) *harness.Root {
		r := boottest.NewRoot(t, harness.Busybox, tarball)
		r.WriteFile(t, helperPath, 0o755, string(helper))
		r.WriteFile(t, "/etc/ignity/services/leaky/run", 0o755, leakyRun)
		r.WriteFile(t, "/etc/ignity/services/leaky/notification-fd", 0o644, "3\n")
		if keepLeftovers {
			r.WriteFile(t, "/etc/ignity/services/leaky/keep-leftovers", 0o644, "")
		}
		return r
	}
	clean, keep = mk(false), mk(true)
	health = boottest.NewRoot(t, harness.Busybox, tarball)
	health.WriteFile(t, helperPath, 0o755, string(helper))
	for i := range 10 {
		health.WriteFile(t, fmt.Sprintf("/etc/ignity/services/svc%03d/run", i), 0o755, "#!/bin/sh\nexec sleep 1000\n")
	}
	return clean, keep, health
}

var monotonicAll = regexp.MustCompile(`monotonic=(\d+)\n`)

// clocks returns every clock the helper printed, in order.
func clocks(out string) []int64 {
	var at []int64
	for _, m := range monotonicAll.FindAllStringSubmatch(out, -1) {
		v, _ := strconv.ParseInt(m[1], 10, 64)
		at = append(at, v)
	}
	return at
}

// leakOnce boots a leaky service with `sleep 1000` as the CMD, kills its
// main process once it has been ready for more than a second (else
// s6-supervise pauses a second before the restart: no part of the
// figure), times its restart, then stops the container.
func leakOnce(t *testing.T, r *harness.Root, o harness.Options) (restart, stop float64) {
	t.Helper()
	fresh(t, r)
	p := r.Start(t, o, "/init", "sleep", "1000")
	pid := p.Pid()
	harness.PollUntil(t, 20*time.Second, "the leaky service's first run", func() bool {
		return len(clocks(p.Output())) == 1 && leakyMain(tree(pid)) > 0
	})
	first := clocks(p.Output())[0]
	for monotonic()-first < int64(1100*time.Millisecond) {
		time.Sleep(10 * time.Millisecond)
	}
	main := leakyMain(tree(pid))
	killed := monotonic()
	if err := syscall.Kill(main, syscall.SIGKILL); err != nil {
		t.Fatalf("kill the leaky service's main process %d: %v", main, err)
	}
	harness.PollUntil(t, 20*time.Second, "the leaky service's restart", func() bool {
		return len(clocks(p.Output())) >= 2
	})
	again := clocks(p.Output())[1]
	// Its new main process, so that the stop stops a running service.
	harness.PollUntil(t, 20*time.Second, "the leaky service's new main process", func() bool {
		m := leakyMain(tree(pid))
		return m > 0 && m != main
	})
	sent := time.Now()
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM to PID 1: %v", err)
	}
	res := p.Wait()
	if res.TimedOut || res.ExitCode != 143 {
		t.Fatalf("the leaky container stopped with SIGTERM: want 143 (sleep's TERM): %s", res)
	}
	return float64(again-killed) / 1e6, toMs(time.Since(sent))
}

// leakyMain is the pid of the service's main process: the sleep whose
// parent is an s6-supervise; 0 when there is none.
func leakyMain(procs []process) int {
	supervisors := map[int]bool{}
	for _, p := range procs {
		if p.comm == "s6-supervise" {
			supervisors[p.pid] = true
		}
	}
	for _, p := range procs {
		if p.comm == "sleep" && supervisors[p.ppid] {
			return p.pid
		}
	}
	return 0
}

// healthOnce boots ten services, waits until `ignity health` passes, then
// times healthRuns probes from a bare environment, between two clock
// reads of the helper (its own start is subtracted: one more read).
func healthOnce(t *testing.T, r *harness.Root, o harness.Options) float64 {
	t.Helper()
	fresh(t, r)
	script := `i=0; until ignity health >/dev/null; do i=$((i+1)); [ $i -gt 2000 ] && exit 98; sleep 0.01; done
		` + helperPath + `; ` + helperPath + `; n=0
		while [ $n -lt ` + strconv.Itoa(healthRuns) + ` ]; do env -i PATH=/usr/bin:/bin ignity health || exit 97; n=$((n+1)); done
		` + helperPath
	res := r.Boot(t, o, "/init", "sh", "-c", script)
	at := clocks(res.Stdout)
	if res.ExitCode != 0 || len(at) != 3 {
		t.Fatalf("ignity health timed: want exit 0 and three clock reads: %s", res)
	}
	helperCost := at[1] - at[0]
	return float64(at[2]-at[1]-helperCost) / 1e6 / healthRuns
}

// measure runs one round of the feature figures; record says whether the
// round counts.
func (f *features) measure(t *testing.T, prefixRoot, clean, keep, health *harness.Root, o harness.Options, record bool) {
	t.Helper()
	prefixed := o
	prefixed.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "IGNITY_LOG_PREFIX=1"}
	s := runUntilStopped(t, prefixRoot, 10, prefixed, "/init", helperPath, "-wait")
	cr, cs := leakOnce(t, clean, o)
	kr, ks := leakOnce(t, keep, o)
	h := healthOnce(t, health, o)
	if !record {
		return
	}
	f.prefixed.add(s)
	f.clean.restart, f.clean.stop = append(f.clean.restart, cr), append(f.clean.stop, cs)
	f.keep.restart, f.keep.stop = append(f.keep.restart, kr), append(f.keep.stop, ks)
	f.health = append(f.health, h)
}

// rows are the feature figures of the main table.
func (f *features) rows(res *results) []row {
	plain := res.ignity[10]
	prefixer := "none seen"
	if b := f.prefixed.binary["ignity"]; b != nil {
		prefixer = fmt.Sprintf("%s PSS, %s RSS", b.pss.mb(), b.rss.mb())
	}
	return []row{
		{figure: "6 steady PSS, 10 services, IGNITY_LOG_PREFIX=1: the prefixer itself (one Go process)",
			ignity: prefixer},
		{figure: "6 steady PSS (RSS), 10 services, IGNITY_LOG_PREFIX=1, all but the services and the CMD",
			ignity: fmt.Sprintf("%s; RSS %.2f MB (knob off: %s)", f.prefixed.pss.mb(), kibToMB(f.prefixed.rss.median()), plain.pss.mb())},
		{figure: "7 restart of a leaky service (SIGKILL of its main → next run), leftover cleanup on (default)",
			ignity: f.clean.restart.ms()},
		{figure: "7 the same with `keep-leftovers` (no cleanup)", ignity: f.keep.restart.ms()},
		{figure: "7 stop (SIGTERM → exit) with that leaky service, cleanup on", ignity: f.clean.stop.ms()},
		{figure: "7 the same with `keep-leftovers`", ignity: f.keep.stop.ms()},
		{figure: fmt.Sprintf("8 one `env -i ignity health`, 10 services, no `health` program (mean of %d per boot)", healthRuns),
			ignity: f.health.ms()},
	}
}

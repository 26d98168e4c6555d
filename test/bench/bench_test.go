package bench_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ignity/ignity/internal/boottest"
	"github.com/ignity/ignity/internal/harness"
	"golang.org/x/sys/unix"
)

// Paths inside the benchmark's roots.
const (
	helperPath = "/usr/local/bin/monotonic"
	tiniPath   = "/usr/bin/tini"
	dumbPath   = "/usr/bin/dumb-init"
	ignityPath = "/usr/bin/ignity"
)

// runTmpfs mounts a tmpfs at /run/ignity, as docker run --tmpfs does (but
// exec: the harness's tmpfs default), with install-ignity.sh's mode.
const runTmpfs = "/run/ignity:mode=0775"

// hostTini is Debian's static tini (package tini), copied into the root.
const hostTini = "/usr/bin/tini-static"

// hostDumb is Debian's dumb-init (package dumb-init), dynamically linked:
// copied into the root with the glibc it loads (see copyDynamic).
const hostDumb = "/usr/bin/dumb-init"

// minRuns is the fewest runs a median is taken over.
const minRuns = 7

// serviceCounts are the container sizes measured; ignity's targets name
// 0, 1, 10 and 100 services.
var serviceCounts = []int{0, 1, 10, 100}

// bootTimeout bounds every boot; a healthy one takes well under a second.
const bootTimeout = 60 * time.Second

// settle is how long a booted container is left alone before its memory
// is read: long enough for anything transient to end.
const settle = 50 * time.Millisecond

// results is everything one benchmark run measured.
type results struct {
	runs    int
	elapsed time.Duration
	// Full cycle of `true`, in ms: no init, tini, dumb-init, /init, and
	// /init with /run/ignity on a tmpfs.
	cycleNoInit, cycleTini, cycleDumb, cycleIgnity, cycleTmpfs series
	// A container running the helper as CMD: no init, tini, dumb-init,
	// and /init by number of services, with /run/ignity in the root
	// filesystem (as in a container's writable layer) and on a tmpfs.
	noInit, tini, dumb  *running
	ignity, ignityTmpfs map[int]*running
	features            features
	perms               permsFigures // peak RSS of perms by tree size
	size                sizes
	docker              *dockerResults // the Docker-level figures, or why none
	about               about
	load                load
}

// running is one variant of a container that runs until stopped.
type running struct {
	start   series // ms from just before the harness starts PID 1 to the CMD's clock read, first thing in its main
	stop    series // ms from SIGTERM to PID 1's exit
	rss     series // KiB, summed over the counted processes
	pss     series
	private series
	goProcs int                // most ignity processes seen once booted
	binary  map[string]*binary // per program of the counted processes
}

// binary collects the counted processes running one program, over runs.
type binary struct {
	count             series // processes per run
	rss, pss, private series // KiB per process
}

func newRunning() *running { return &running{binary: map[string]*binary{}} }

func (r *running) add(s sample) {
	r.start = append(r.start, s.start)
	r.stop = append(r.stop, s.stop)
	total := s.footprint.total()
	r.rss = append(r.rss, float64(total.rss))
	r.pss = append(r.pss, float64(total.pss))
	r.private = append(r.private, float64(total.private))
	r.goProcs = max(r.goProcs, s.footprint.goProcs)
	counts := map[string]int{}
	for _, p := range s.footprint.procs {
		b := r.binary[p.binary]
		if b == nil {
			b = &binary{}
			r.binary[p.binary] = b
		}
		counts[p.binary]++
		b.rss = append(b.rss, float64(p.rss))
		b.pss = append(b.pss, float64(p.pss))
		b.private = append(b.private, float64(p.private))
	}
	for name, n := range counts {
		r.binary[name].count = append(r.binary[name].count, float64(n))
	}
}

// startOverhead is start to CMD minus no init's, run by run.
func (r *running) startOverhead(noInit *running) series { return r.start.minus(noInit.start) }

func TestBench(t *testing.T) {
	if os.Getenv("IGNITY_BENCH") != "1" {
		t.Skip("a benchmark, not a test: run it with task bench (IGNITY_BENCH=1)")
	}
	harness.RequireRoot(t)
	began := time.Now()
	tarball := harness.Tarball(t)
	runs := runsWanted(t)
	helper := buildHelper(t)
	tini, err := os.ReadFile(hostTini)
	if err != nil {
		t.Fatalf("tini reference: %v (apt-get install tini: it ships the static %s)", err, hostTini)
	}

	// One installed busybox root per container size; the references run
	// in the one without services.
	roots := map[int]*harness.Root{}
	for _, n := range serviceCounts {
		r := boottest.NewRoot(t, harness.Busybox, tarball)
		r.WriteFile(t, helperPath, 0o755, string(helper))
		for i := range n {
			r.WriteFile(t, fmt.Sprintf("/etc/ignity/services/svc%03d/run", i), 0o755, "#!/bin/sh\nexec sleep 1000\n")
		}
		roots[n] = r
	}
	base := roots[0]
	base.WriteFile(t, tiniPath, 0o755, string(tini))
	copyDynamic(t, base, hostDumb, dumbPath)

	res := &results{runs: runs, noInit: newRunning(), tini: newRunning(), dumb: newRunning(),
		ignity: map[int]*running{}, ignityTmpfs: map[int]*running{}}
	for _, n := range serviceCounts {
		res.ignity[n], res.ignityTmpfs[n] = newRunning(), newRunning()
	}
	res.features.prefixed = newRunning()
	leakClean, leakKeep, probed := featureRoots(t, tarball, helper)
	onDisk, onTmpfs := harness.Options{Timeout: bootTimeout}, harness.Options{Timeout: bootTimeout, Tmpfs: []string{runTmpfs}}
	var machine load
	machine.before, machine.pressureBefore = sampleLoad()
	// Round 0 warms the page cache and is thrown away. Within a round the
	// variants alternate, so that drift hits every column alike.
	for round := 0; round <= runs; round++ {
		keep := round > 0
		cycles := []struct {
			into *series
			o    harness.Options
			argv []string
		}{
			{&res.cycleNoInit, onDisk, []string{"true"}},
			{&res.cycleTini, onDisk, []string{tiniPath, "--", "true"}},
			{&res.cycleDumb, onDisk, []string{dumbPath, "true"}},
			{&res.cycleIgnity, onDisk, []string{"/init", "true"}},
			{&res.cycleTmpfs, onTmpfs, []string{"/init", "true"}},
		}
		for _, c := range cycles {
			d := fullCycle(t, base, c.o, c.argv)
			if keep {
				*c.into = append(*c.into, toMs(d))
			}
		}

		s := runUntilStopped(t, base, 0, onDisk, helperPath, "-wait")
		if keep {
			res.noInit.add(s)
		}
		s = runUntilStopped(t, base, 0, onDisk, tiniPath, "--", helperPath, "-wait")
		if keep {
			res.tini.add(s)
		}
		s = runUntilStopped(t, base, 0, onDisk, dumbPath, helperPath, "-wait")
		if keep {
			res.dumb.add(s)
		}
		for _, n := range serviceCounts {
			s = runUntilStopped(t, roots[n], n, onDisk, "/init", helperPath, "-wait")
			if keep {
				res.ignity[n].add(s)
			}
			s = runUntilStopped(t, roots[n], n, onTmpfs, "/init", helperPath, "-wait")
			if keep {
				res.ignityTmpfs[n].add(s)
			}
		}
		res.features.measure(t, roots[10], leakClean, leakKeep, probed, onDisk, keep)
		if keep {
			t.Logf("round %d/%d done after %v", round, runs, time.Since(began).Round(time.Second))
		}
	}

	machine.after, machine.pressureAfter = sampleLoad()
	res.load = machine
	// After the harness's rounds, so that the engine's work does not load them.
	res.docker = dockerBench(t, tarball, runs)
	res.perms = measurePerms(t, tarball)
	res.size = tarballSizes(t, tarball)
	res.about = describe(t, tarball, runs)
	res.elapsed = time.Since(began)

	report := res.markdown()
	fmt.Print("\n" + report.table + "\n" + res.load.String() + "\n\n" + res.docker.markdown() + "\n")
	writeDocs(t, res, report)
}

// runsWanted is IGNITY_BENCH_RUNS (default 11), at least minRuns.
func runsWanted(t *testing.T) int {
	v := os.Getenv("IGNITY_BENCH_RUNS")
	if v == "" {
		return 11
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < minRuns {
		t.Fatalf("IGNITY_BENCH_RUNS=%q: want a number of runs, at least %d", v, minRuns)
	}
	return n
}

// copyDynamic copies the dynamically linked program host into the root
// at path, with the shared libraries and the loader ldd names, at their
// own paths: the busybox root has no libc.
func copyDynamic(t *testing.T, r *harness.Root, host, path string) {
	t.Helper()
	b, err := os.ReadFile(host)
	if err != nil {
		t.Fatalf("%s: %v (apt-get install %s)", host, err, filepath.Base(host))
	}
	r.WriteFile(t, path, 0o755, string(b))
	out, err := exec.Command("ldd", host).Output()
	if err != nil {
		t.Fatalf("ldd %s: %v", host, err)
	}
	for _, f := range strings.Fields(string(out)) {
		if !strings.HasPrefix(f, "/") {
			continue
		}
		lib, err := os.ReadFile(f)
		if err != nil {
			t.Fatalf("%s needs %s: %v", host, f, err)
		}
		r.WriteFile(t, f, 0o755, string(lib))
	}
}

// buildHelper builds ./monotonic, static, and returns the binary.
func buildHelper(t *testing.T) []byte {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = "/usr/local/go/bin/go"
	}
	out := filepath.Join(t.TempDir(), "monotonic")
	cmd := exec.Command(goTool, "build", "-trimpath", "-ldflags=-s -w", "-o", out, "./monotonic")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the monotonic helper: %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fullCycle boots argv to its end and returns the harness's elapsed time:
// from starting the namespace child to PID 1's exit.
func fullCycle(t *testing.T, r *harness.Root, o harness.Options, argv []string) time.Duration {
	t.Helper()
	fresh(t, r)
	res := r.Boot(t, o, argv...)
	if res.ExitCode != 0 || res.TimedOut {
		t.Fatalf("%q: %s", argv, res)
	}
	return res.Elapsed
}

// fresh empties the root's /run/ignity, as a new container has it: what
// the previous boot left there (which stage1 would remove first, as after
// a docker restart) is no part of the next boot's cost.
func fresh(t *testing.T, r *harness.Root) {
	t.Helper()
	dir := r.Path("/run/ignity")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("empty /run/ignity: %v", err)
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			t.Fatalf("empty /run/ignity: %v", err)
		}
	}
}

// sample is one boot of a container that runs until stopped.
type sample struct {
	start, stop float64 // ms
	footprint   footprint
}

var monotonicLine = regexp.MustCompile(`monotonic=(\d+)\n`)

// runUntilStopped boots argv, whose CMD is the helper with -wait, and
// waits until the helper has printed the clock and nsvc services run.
// After settle it reads the footprint, then sends SIGTERM and times the
// stop.
func runUntilStopped(t *testing.T, r *harness.Root, nsvc int, o harness.Options, argv ...string) sample {
	t.Helper()
	helper, ok1 := idOf(r.Path(helperPath))
	ignity, ok2 := idOf(r.Path(ignityPath))
	if !ok1 || !ok2 {
		t.Fatalf("stat %s and %s in %s", helperPath, ignityPath, r.Dir)
	}
	fresh(t, r)
	t0 := monotonic()
	p := r.Start(t, o, argv...)
	pid := p.Pid()
	// The output first: scanning /proc takes CPU from the boot measured.
	harness.PollUntil(t, 20*time.Second, fmt.Sprintf("the CMD of %q", argv), func() bool {
		return monotonicLine.MatchString(p.Output())
	})
	deadline := time.Now().Add(20 * time.Second)
	for servicesUp(tree(pid)) != nsvc {
		if time.Now().After(deadline) {
			t.Fatalf("%q: %d services not all up after 20 s:\n%s", argv, nsvc, p.Output())
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(settle)
	fp, err := measureFootprint(pid, helper, ignity)
	if err != nil {
		t.Fatalf("%q: footprint: %v\n%s", argv, err, p.Output())
	}

	sent := time.Now()
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("%q: SIGTERM to PID 1: %v", argv, err)
	}
	res := p.Wait()
	stop := time.Since(sent)
	if res.ExitCode != 0 || res.TimedOut {
		t.Fatalf("%q: stopped with SIGTERM: %s", argv, res)
	}
	m := monotonicLine.FindStringSubmatch(res.Stdout)
	if m == nil {
		t.Fatalf("%q: no monotonic= line on stdout: %s", argv, res)
	}
	at, _ := strconv.ParseInt(m[1], 10, 64)
	return sample{start: float64(at-t0) / 1e6, stop: toMs(stop), footprint: fp}
}

// monotonic reads CLOCK_MONOTONIC, the clock the helper prints.
func monotonic() int64 {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return ts.Nano()
}

// TestBootLoop boots `/init true` IGNITY_BENCH_LOOP times in a row, with
// IGNITY_BENCH_LOOP_SERVICES services (default 0), the environment
// IGNITY_BENCH_LOOP_ENV (space-separated NAME=value) and, with
// IGNITY_BENCH_LOOP_TMPFS=1, /run/ignity on a tmpfs, for a profiler to
// watch from outside, e.g.
//
//	perf record -a -e 'sched:sched_process_*' -- go test -run TestBootLoop ...
//
// With IGNITY_BENCH_LOOP_TERM=MS the CMD is `sleep 1000` instead, and PID 1
// gets SIGTERM MS milliseconds after the start: the stop path. It prints
// each boot's elapsed time and measures nothing else.
func TestBootLoop(t *testing.T) {
	loops, _ := strconv.Atoi(os.Getenv("IGNITY_BENCH_LOOP"))
	if loops <= 0 {
		t.Skip("a profiling aid: set IGNITY_BENCH_LOOP=N to boot /init true N times")
	}
	harness.RequireRoot(t)
	nsvc, _ := strconv.Atoi(os.Getenv("IGNITY_BENCH_LOOP_SERVICES"))
	r := boottest.NewRoot(t, harness.Busybox, harness.Tarball(t))
	for i := range nsvc {
		r.WriteFile(t, fmt.Sprintf("/etc/ignity/services/svc%03d/run", i), 0o755, "#!/bin/sh\nexec sleep 1000\n")
	}
	o := harness.Options{Timeout: bootTimeout, Env: boottest.Env(strings.Fields(os.Getenv("IGNITY_BENCH_LOOP_ENV"))...)}
	if os.Getenv("IGNITY_BENCH_LOOP_TMPFS") == "1" {
		o.Tmpfs = []string{runTmpfs}
	}
	argv, want := []string{"/init", "true"}, 0
	if ms, _ := strconv.Atoi(os.Getenv("IGNITY_BENCH_LOOP_TERM")); ms > 0 {
		o.TermAfter = time.Duration(ms) * time.Millisecond
		argv, want = []string{"/init", "sleep", "1000"}, 128+int(syscall.SIGTERM)
	}
	for i := range loops {
		fresh(t, r)
		res := r.Boot(t, o, argv...)
		if res.ExitCode != want || res.TimedOut {
			t.Fatalf("boot %d: %s", i, res)
		}
		t.Logf("boot %d: %v", i, res.Elapsed.Round(10*time.Microsecond))
	}
}

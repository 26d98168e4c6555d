package bench_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Targets on this machine kind, on medians.
const (
	targetCycleRatio   = 1.5   // full cycle, × no init
	targetStart0       = 10.0  // ms over no init, 0 services
	targetStart100     = 150.0 // ms over no init, 100 services
	targetStop1        = 30.0  // ms, 1 service
	targetStop100      = 100.0 // ms, 100 services
	targetPSS1         = 2.2   // MB, 1 service
	targetPSS10        = 3.6   // MB, 10 services
	targetTarballBytes = 2.5e6 // gzip
)

// named is a series with its label.
type named struct {
	name string
	s    series
}

// report is the benchmark's text: the main table with the targets, and
// the details behind it.
type report struct {
	table, details string
}

func verdict(ok bool) string {
	if ok {
		return "PASS"
	}
	return "MISS"
}

// row is one line of the main table.
type row struct {
	figure, ignity, tmpfs, noInit, tini, dumb, target, result string
}

// judge is the verdict on the default column, and on the tmpfs column
// when it differs.
func judge(ok, okTmpfs bool) string {
	if ok == okTmpfs {
		return verdict(ok)
	}
	return verdict(ok) + " (tmpfs: " + verdict(okTmpfs) + ")"
}

func (res *results) markdown() report {
	var rows []row
	add := func(r row) { rows = append(rows, r) }
	base := res.cycleNoInit.median()

	ratio, ratioTmpfs := res.cycleIgnity.median()/base, res.cycleTmpfs.median()/base
	add(row{"1 full cycle `/init true` (harness start → PID 1 exit)",
		fmt.Sprintf("%s = %.2f× no init", res.cycleIgnity.ms(), ratio),
		fmt.Sprintf("%s = %.2f×", res.cycleTmpfs.ms(), ratioTmpfs),
		res.cycleNoInit.ms(),
		fmt.Sprintf("%s = %.2f×", res.cycleTini.ms(), res.cycleTini.median()/base),
		fmt.Sprintf("%s = %.2f×", res.cycleDumb.ms(), res.cycleDumb.median()/base),
		fmt.Sprintf("≤ %.1f× no init", targetCycleRatio), judge(ratio <= targetCycleRatio, ratioTmpfs <= targetCycleRatio)})

	for _, n := range serviceCounts {
		d, m := res.ignity[n].startOverhead(res.noInit), res.ignityTmpfs[n].startOverhead(res.noInit)
		r := row{figure: fmt.Sprintf("2 start → CMD, %s, minus no init", services(n)), ignity: d.ms(), tmpfs: m.ms()}
		switch n {
		case 0:
			r.noInit = "itself: " + res.noInit.start.ms()
			r.tini = res.tini.startOverhead(res.noInit).ms()
			r.dumb = res.dumb.startOverhead(res.noInit).ms()
			r.target, r.result = fmt.Sprintf("≤ no init + %.0f ms", targetStart0), judge(d.median() <= targetStart0, m.median() <= targetStart0)
		case 100:
			r.target, r.result = fmt.Sprintf("≤ %.0f ms", targetStart100), judge(d.median() <= targetStart100, m.median() <= targetStart100)
		}
		add(r)
	}

	for _, n := range serviceCounts {
		d, m := res.ignity[n].stop, res.ignityTmpfs[n].stop
		r := row{figure: fmt.Sprintf("3 stop (SIGTERM → exit), %s", services(n)), ignity: d.ms(), tmpfs: m.ms()}
		switch n {
		case 0:
			r.noInit, r.tini, r.dumb = res.noInit.stop.ms(), res.tini.stop.ms(), res.dumb.stop.ms()
		case 1:
			r.target, r.result = fmt.Sprintf("≤ %.0f ms", targetStop1), judge(d.median() <= targetStop1, m.median() <= targetStop1)
		case 100:
			r.target, r.result = fmt.Sprintf("≤ %.0f ms", targetStop100), judge(d.median() <= targetStop100, m.median() <= targetStop100)
		}
		add(r)
	}

	pssRSS := func(v *running) string {
		return fmt.Sprintf("%s; RSS %.2f MB", v.pss.mb(), kibToMB(v.rss.median()))
	}
	for _, n := range serviceCounts {
		d, m := res.ignity[n], res.ignityTmpfs[n]
		r := row{figure: fmt.Sprintf("4 steady PSS (RSS), %s: all but the services and the CMD", services(n)),
			ignity: pssRSS(d), tmpfs: pssRSS(m)}
		pss, pssTmpfs := kibToMB(d.pss.median()), kibToMB(m.pss.median())
		switch n {
		case 0:
			r.noInit = "0 (nothing but the CMD)"
			r.tini = pssRSS(res.tini)
			r.dumb = pssRSS(res.dumb)
		case 1:
			r.target, r.result = fmt.Sprintf("≤ %.1f MB", targetPSS1), judge(pss <= targetPSS1, pssTmpfs <= targetPSS1)
		case 10:
			r.target, r.result = fmt.Sprintf("≤ %.1f MB", targetPSS10), judge(pss <= targetPSS10, pssTmpfs <= targetPSS10)
		}
		add(r)
	}
	goProcs, goTmpfs, boots := 0, 0, 0
	for _, n := range serviceCounts {
		goProcs = max(goProcs, res.ignity[n].goProcs)
		goTmpfs = max(goTmpfs, res.ignityTmpfs[n].goProcs)
		boots += len(res.ignity[n].start)
	}
	add(row{"4 Go processes resident once booted (exe = /usr/bin/ignity)",
		fmt.Sprintf("at most %d in %d boots", goProcs, boots), fmt.Sprintf("at most %d in %d boots", goTmpfs, boots),
		"", "", "", "0", judge(goProcs == 0, goTmpfs == 0)})

	add(row{figure: "5 tarball (gzip)", ignity: fmt.Sprintf("%d bytes = %.2f MB", res.size.gzip, float64(res.size.gzip)/1e6),
		target: fmt.Sprintf("≤ %.1f MB", targetTarballBytes/1e6), result: verdict(float64(res.size.gzip) <= targetTarballBytes)})
	add(row{figure: "5 installed (sum of file sizes)", ignity: fmt.Sprintf("%d bytes = %.2f MB", res.size.installed, float64(res.size.installed)/1e6),
		tini: fmt.Sprintf("%.2f MB (tini-static)", float64(res.size.tini)/1e6)})
	rows = append(rows, res.features.rows(res)...)
	rows = append(rows, res.perms.rows()...)

	var b strings.Builder
	b.WriteString("| figure | ignity | ignity, /run/ignity on tmpfs | no init | tini | dumb-init | target | |\n|---|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", r.figure, r.ignity, r.tmpfs, r.noInit, r.tini, r.dumb, r.target, r.result)
	}
	fmt.Fprintf(&b, "\nMedian (min–max) of %d runs, busybox root. ms are milliseconds; MB are 10⁶ bytes (the kernel's kB are KiB). "+
		"The targets apply to the ignity column: /run/ignity in the root filesystem, as in a container's writable layer.\n", res.runs)
	return report{table: b.String(), details: res.details()}
}

// details lists the memory per program and the tarball's parts.
func (res *results) details() string {
	var b strings.Builder
	b.WriteString("### Steady-state memory per program\n\n")
	b.WriteString("Every process of the container but the services and the CMD, read from the host's " +
		"`/proc/PID/smaps_rollup`; per process, median over the runs, in KiB. Private is " +
		"Private_Clean + Private_Dirty: what the process alone costs; the rest of its RSS is shared " +
		"(the relocated glibc, skalibs, the binaries' text), which PSS splits among the sharers.\n\n")
	b.WriteString("| container | program | processes | RSS | PSS | private |\n|---|---|---|---|---|---|\n")
	containers := []struct {
		name string
		r    *running
	}{{"tini", res.tini}, {"dumb-init", res.dumb}}
	for _, n := range serviceCounts {
		containers = append(containers, struct {
			name string
			r    *running
		}{"ignity, " + services(n), res.ignity[n]})
	}
	for _, c := range containers {
		names := make([]string, 0, len(c.r.binary))
		for name := range c.r.binary {
			names = append(names, name)
		}
		slices.Sort(names)
		for _, name := range names {
			bin := c.r.binary[name]
			fmt.Fprintf(&b, "| %s | %s | %.0f | %.0f | %.0f | %.0f |\n", c.name, name,
				bin.count.median(), bin.rss.median(), bin.pss.median(), bin.private.median())
		}
		fmt.Fprintf(&b, "| %s | **total** | | %.0f | %.0f | %.0f |\n", c.name,
			c.r.rss.median(), c.r.pss.median(), c.r.private.median())
	}

	b.WriteString("\n### Every run\n\n")
	b.WriteString("The latencies of each round, in ms, in the order they were measured; start → CMD " +
		"is the raw interval here, before no init's is subtracted.\n\n")
	b.WriteString("| figure | runs |\n|---|---|\n")
	raw := []named{
		{"full cycle, no init", res.cycleNoInit}, {"full cycle, tini", res.cycleTini}, {"full cycle, dumb-init", res.cycleDumb},
		{"full cycle, ignity", res.cycleIgnity}, {"full cycle, ignity, tmpfs", res.cycleTmpfs},
		{"start → CMD, no init", res.noInit.start}, {"start → CMD, tini", res.tini.start}, {"start → CMD, dumb-init", res.dumb.start},
	}
	for _, n := range serviceCounts {
		raw = append(raw, named{"start → CMD, ignity, " + services(n), res.ignity[n].start},
			named{"start → CMD, ignity, " + services(n) + ", tmpfs", res.ignityTmpfs[n].start})
	}
	raw = append(raw, named{"stop, no init", res.noInit.stop}, named{"stop, tini", res.tini.stop}, named{"stop, dumb-init", res.dumb.stop})
	for _, n := range serviceCounts {
		raw = append(raw, named{"stop, ignity, " + services(n), res.ignity[n].stop},
			named{"stop, ignity, " + services(n) + ", tmpfs", res.ignityTmpfs[n].stop})
	}
	for _, r := range raw {
		vals := make([]string, len(r.s))
		for i, v := range r.s {
			vals[i] = num(v)
		}
		fmt.Fprintf(&b, "| %s | %s |\n", r.name, strings.Join(vals, " "))
	}

	b.WriteString("\n### What the tarball installs\n\n")
	fmt.Fprintf(&b, "Tarball %d bytes (gzip; pigz -11 when package.sh finds pigz); installed %d bytes in regular files.\n\n", res.size.gzip, res.size.installed)
	b.WriteString("| part | files | bytes | share |\n|---|---|---|---|\n")
	for _, p := range res.size.parts {
		fmt.Fprintf(&b, "| %s | %d | %d | %.0f%% |\n", p.name, p.files, p.bytes, 100*float64(p.bytes)/float64(res.size.installed))
		for _, f := range p.each {
			fmt.Fprintf(&b, "| &nbsp;&nbsp;%s | 1 | %d | %.0f%% |\n", f.name, f.bytes, 100*float64(f.bytes)/float64(res.size.installed))
		}
	}
	return b.String()
}

// docsDir is docs/ at the module root.
func docsDir(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "docs")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the working directory")
		}
		dir = parent
	}
}

// writeDocs writes docs/BENCHMARKS.md and plots docs/bench-latency.png.
func writeDocs(t *testing.T, res *results, rep report) {
	t.Helper()
	dir := docsDir(t)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	plotted := plot(t, res, filepath.Join(dir, "bench-latency.png"))
	a := res.about
	var b strings.Builder
	b.WriteString("# Benchmarks\n\n")
	b.WriteString("Written by `task bench` (`test/bench`); do not edit by hand, run it again.\n")
	b.WriteString("It boots the release tarball as the true PID 1 of fresh pid and mount namespaces with the " +
		"project's harness (`internal/harness`), on the **busybox** base root filesystem (Debian's " +
		"busybox-static alone, ignity installed as the README says: tarball, then `install-ignity.sh`), " +
		"and measures two references from the same root in the same run: **no init** (the CMD itself is " +
		"PID 1), **tini** (`tini -- CMD` as PID 1) and **dumb-init** (`dumb-init CMD` as PID 1, Debian's, " +
		"with the glibc it loads copied in).\n\n")
	fmt.Fprintf(&b, "Run on %s; the whole benchmark took %v.\n\n", a.date, res.elapsed.Round(time.Second))
	b.WriteString("## Machine\n\n")
	fmt.Fprintf(&b, "- CPUs (nproc): %s, model %s\n", a.cpus, a.model)
	fmt.Fprintf(&b, "- kernel: %s\n", a.kernel)
	fmt.Fprintf(&b, "- memory: %s\n", a.memory)
	fmt.Fprintf(&b, "- Go: %s\n", a.goVersion)
	fmt.Fprintf(&b, "- tarball: %s (sha256 %s)\n", a.tarball, a.sha256)
	fmt.Fprintf(&b, "- base: %s\n", a.busybox)
	fmt.Fprintf(&b, "- tini: %s\n", a.tini)
	fmt.Fprintf(&b, "- dumb-init: %s\n", a.dumb)
	fmt.Fprintf(&b, "- runs: %d per figure, after one discarded warm-up round\n", a.runs)
	fmt.Fprintf(&b, "- %s\n\n", res.load)
	if res.load.busy() {
		b.WriteString("**The machine was busy**: other processes competed for the CPUs during this run, which " +
			"inflates every latency and widens every range; the columns, measured in the same rounds, stay " +
			"comparable with each other. Run it again on a quiet machine for absolute figures.\n\n")
	}
	b.WriteString("## Results\n\n")
	b.WriteString(rep.table)
	if plotted {
		b.WriteString("\n![start to CMD and stop latency against the number of services](bench-latency.png)\n")
	}
	if res.docker != nil {
		b.WriteString("\n" + res.docker.markdown())
	}
	b.WriteString("\n## Details\n\n")
	b.WriteString(rep.details)
	b.WriteString(method)
	if err := os.WriteFile(filepath.Join(dir, "BENCHMARKS.md"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s", filepath.Join(dir, "BENCHMARKS.md"))
}

const method = `
## How each figure is measured

Each round boots every variant once, in the same order (no init, tini, dumb-init, ignity), so that
drift on the machine hits every column alike; round 0 only warms the page cache. Every
boot is the harness's: the test binary re-executes itself into new pid, mount, uts and
ipc namespaces, mounts /proc and a minimal /dev, chroots into the root and execs PID 1.
That set-up is part of every figure alike.

1. **Full cycle**: ` + "`true`" + `, ` + "`tini -- true`" + `, ` + "`dumb-init true`" + ` and ` + "`/init true`" + ` with
   default knobs, from the harness starting the namespace child to PID 1's exit
   (` + "`Result.Elapsed`" + `).
2. **Start → CMD**: the CMD is ` + "`monotonic -wait`" + ` (test/bench/monotonic, a static Go
   program) which first reads CLOCK_MONOTONIC and prints it; the benchmark reads the same
   clock just before the harness starts PID 1 (no time namespace is used, so the clocks are
   one). The figure is that interval minus the same interval of the helper booted as PID 1
   itself in the same round, so the harness and the helper's own start cancel out. The
   services (` + "`#!/bin/sh` / `exec sleep 1000`" + `) are not waited for
   (IGNITY_CMD_WAIT_FOR_SERVICES=0, the default).
3. **Stop**: in the same boots, once the CMD runs and every service's ` + "`sleep`" + ` is a
   child of its s6-supervise, plus 50 ms, SIGTERM goes to PID 1 from the host; the figure
   runs to PID 1's exit as its parent sees it. The helper and the services exit on SIGTERM.
4. **Steady state**: at the same moment, before the SIGTERM, every descendant of PID 1 is read
   from the host's ` + "`/proc`" + `: the services (children of an s6-supervise, and theirs)
   and the CMD (the process running the helper, and its children) are left out; Rss, Pss and
   Private_Clean + Private_Dirty of ` + "`/proc/PID/smaps_rollup`" + ` are summed over the
   rest (s6-svscan, the s6-supervise processes, the CMD's waiter). A process whose
   ` + "`/proc/PID/exe`" + ` is ignity's binary is a Go process resident after boot.
5. **Size**: the tarball's bytes, and the regular files in it (symlinks cost nothing).
6. **Log prefixer**: the 10-service container of 2–4 booted again with ` + "`IGNITY_LOG_PREFIX=1`" + `,
   measured as in 4; the prefixer is the one process running ignity's binary.
7. **Leftover cleanup**: a service whose ` + "`run`" + ` starts a ` + "`sleep`" + ` in the background,
   reads the clock with the helper, notifies readiness (` + "`notification-fd`" + `) and execs
   ` + "`sleep`" + `; the CMD is ` + "`sleep 1000`" + `. Once it has been ready 1.1 s (s6-supervise restarts a
   service ready for over a second at once, any other after a 1 s pause), the host sends
   SIGKILL to its main process; the restart figure runs from just before that kill to the
   next run's clock read (which includes SIGTERM to the leftover ` + "`sleep`" + ` and waiting for
   it, ignity's finish, and s6-supervise's restart). Then SIGTERM goes to PID 1, timed as in 3.
   The same with a ` + "`keep-leftovers`" + ` file in the service dir.
8. **Probe**: ten services, CMD a shell that waits until ` + "`ignity health`" + ` passes, then runs
   it 50 times as ` + "`env -i PATH=/usr/bin:/bin ignity health`" + ` between two clock reads of the
   helper (minus one read's own cost): the mean per probe, one figure per boot.

Every ignity figure is taken twice: with /run/ignity in the root filesystem (the default,
as in a container's writable layer: here an overlay whose upper layer is on the host's
disk), and with a tmpfs mounted there (` + "`docker run --tmpfs /run/ignity`" + `). ignity
rebuilds /run/ignity at every boot, and s6 creates its FIFOs and locks there: the
difference between the two columns is what creating those files costs on the disk. Before
every boot the benchmark empties the root's /run/ignity from the host, as in a new container:
removing a previous run's state (which stage1 does after a ` + "`docker restart`" + `) is not
counted.

## How to run

    task bench        # as root: builds the tarball, then runs this benchmark

which is ` + "`IGNITY_BENCH=1 IGNITY_TARBALL=dist/ignity-VERSION-x86_64.tar.gz go test -count=1 -run TestBench -v -timeout 30m ./test/bench/`" + `.
IGNITY_BENCH_RUNS sets the runs per figure (default 11, at least 7). It needs Debian's
tini (for ` + "`/usr/bin/tini-static`" + `) and gnuplot (for the plot): ` + "`apt-get install tini gnuplot-nox`" + `.

To see where the time goes, ` + "`TestBootLoop`" + ` in the same package boots ` + "`/init true`" + ` in a loop
for perf to record, and ` + "`test/bench/perf-stages.py`" + ` turns the recording into the length
of each stage and the CPU time of each program; both say how to use them, and
[PROFILE.md](PROFILE.md) holds what they showed.
`

// plot draws start → CMD (minus no init) and stop against the number of
// services with gnuplot, tini's as dashed references; it reports whether
// the image was written.
func plot(t *testing.T, res *results, png string) bool {
	t.Helper()
	gnuplot, err := exec.LookPath("gnuplot")
	if err != nil {
		t.Errorf("no plot: gnuplot not found (apt-get install gnuplot-nox)")
		return false
	}
	dir := t.TempDir()
	var data strings.Builder
	data.WriteString("# services, then median min max of: start (disk), start (tmpfs), stop (disk), stop (tmpfs)\n")
	top := plotFloor
	for _, n := range serviceCounts {
		fmt.Fprintf(&data, "%d", n)
		for _, s := range []series{
			res.ignity[n].startOverhead(res.noInit), res.ignityTmpfs[n].startOverhead(res.noInit),
			res.ignity[n].stop, res.ignityTmpfs[n].stop,
		} {
			top = max(top, s.max())
			// A log scale: a min below the axis (a noisy no-init run makes
			// a difference negative) is drawn at its floor.
			fmt.Fprintf(&data, " %.3f %.3f %.3f", max(s.median(), plotFloor), max(s.min(), plotFloor), max(s.max(), plotFloor))
		}
		data.WriteString("\n")
	}
	dataFile := filepath.Join(dir, "latency.dat")
	if err := os.WriteFile(dataFile, []byte(data.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	script := fmt.Sprintf(`set terminal pngcairo size 960,600 font "sans,10"
set output %q
set title "ignity %s, busybox root, %s CPUs: median of %d runs, bars from min to max"
set xlabel "services (each: exec sleep 1000)"
set ylabel "milliseconds (log scale)"
set key top left box opaque
set grid ytics
set offsets 0.3, 0.3, 0, 0
set logscale y
set yrange [%g:%g]
set ytics (0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000)
plot %q using ($0-0.06):2:3:4:xtic(1) with yerrorlines lw 2 pt 7 lc rgb "#1f77b4" title "start to CMD, minus no init", \
     '' using ($0-0.02):5:6:7 with yerrorlines lw 2 pt 6 dt 4 lc rgb "#1f77b4" title "start to CMD, /run/ignity on tmpfs", \
     '' using ($0+0.02):8:9:10 with yerrorlines lw 2 pt 5 lc rgb "#d62728" title "stop: SIGTERM to PID 1's exit", \
     '' using ($0+0.06):11:12:13 with yerrorlines lw 2 pt 4 dt 4 lc rgb "#d62728" title "stop, /run/ignity on tmpfs", \
     %.3f with lines dt 2 lw 1.5 lc rgb "#2ca02c" title "tini: start to CMD, minus no init", \
     %.3f with lines dt 3 lw 1.5 lc rgb "#9467bd" title "tini: stop"
`, png, versionOf(res.about.tarball), res.about.cpus, res.runs, plotFloor, 1.4*top, dataFile,
		max(res.tini.startOverhead(res.noInit).median(), plotFloor), max(res.tini.stop.median(), plotFloor))
	scriptFile := filepath.Join(dir, "latency.gp")
	if err := os.WriteFile(scriptFile, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(gnuplot, scriptFile).CombinedOutput(); err != nil {
		t.Errorf("gnuplot %s: %v\n%s", scriptFile, err, out)
		return false
	}
	t.Logf("wrote %s", png)
	return true
}

// services says "1 service", "10 services".
func services(n int) string {
	if n == 1 {
		return "1 service"
	}
	return strconv.Itoa(n) + " services"
}

// plotFloor is the bottom of the plot's log scale, in ms.
const plotFloor = 0.5

// versionOf takes the version out of a tarball name ignity-VERSION-ARCH.tar.gz.
func versionOf(name string) string {
	v := strings.TrimPrefix(strings.TrimSuffix(name, ".tar.gz"), "ignity-")
	if i := strings.LastIndexByte(v, '-'); i > 0 {
		v = v[:i]
	}
	return v
}

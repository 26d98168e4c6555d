package bench_test

// What the report says about the machine, its load, and the inputs.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ignity/ignity/internal/harness"
	"golang.org/x/sys/unix"
)

// about is what the report says about the machine and the inputs.
type about struct {
	date, cpus, model, kernel, memory string
	goVersion, tarball, sha256        string
	busybox, tini, dumb               string
	runs                              int
}

func describe(t *testing.T, tarball string, runs int) about {
	a := about{
		date:    time.Now().UTC().Format("2006-01-02 15:04 UTC"),
		cpus:    strconv.Itoa(countCPUs()),
		model:   procField("/proc/cpuinfo", "model name"),
		memory:  procField("/proc/meminfo", "MemTotal"),
		tarball: filepath.Base(tarball),
		runs:    runs,
	}
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		a.kernel = "Linux " + unix.ByteSliceToString(u.Release[:]) + " " + unix.ByteSliceToString(u.Machine[:])
	}
	if kib, err := strconv.Atoi(strings.TrimSuffix(a.memory, " kB")); err == nil {
		a.memory = fmt.Sprintf("%.1f GiB", float64(kib)/(1<<20))
	}
	if b, err := os.ReadFile(tarball + ".sha256"); err == nil {
		a.sha256, _, _ = strings.Cut(string(b), " ")
	}
	if b, err := exec.Command("go", "version").Output(); err == nil {
		a.goVersion = strings.TrimPrefix(strings.TrimSpace(string(b)), "go version ")
	}
	if b, err := exec.Command(filepath.Join(harness.BaseDir(t, harness.Busybox), "bin", "busybox")).Output(); err == nil {
		a.busybox, _, _ = strings.Cut(string(b), "\n")
		a.busybox = strings.TrimSuffix(a.busybox, " multi-call binary.")
	}
	if b, err := exec.Command("dpkg-query", "-W", "-f", "${Version}", "tini").Output(); err == nil {
		a.tini = "Debian tini " + string(b) + " (" + hostTini + ")"
	}
	if b, err := exec.Command("dpkg-query", "-W", "-f", "${Version}", "dumb-init").Output(); err == nil {
		a.dumb = "Debian dumb-init " + string(b) + " (" + hostDumb + ")"
	}
	return a
}

// countCPUs is nproc: the CPUs this process may run on.
func countCPUs() int {
	var set unix.CPUSet
	if unix.SchedGetaffinity(0, &set) == nil {
		return set.Count()
	}
	return 0
}

// procField is the value of the first "name: value" line of file.
func procField(file, name string) string {
	b, err := os.ReadFile(file)
	if err != nil {
		return "?"
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.TrimSpace(k) == name {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}

// load is how busy the machine was around the rounds: other processes
// competing for the CPUs inflate every figure. The CPU pressure is taken
// while the benchmark itself sleeps, so that it is the others' alone.
type load struct {
	before, after                 string  // 1, 5 and 15 minute load averages
	pressureBefore, pressureAfter float64 // share of an idle second some task waited for a CPU; -1 if unknown
}

// idleWindow is how long the benchmark sleeps to sample the others' load.
const idleWindow = time.Second

// sampleLoad sleeps idleWindow and reports the load average and the CPU
// pressure meanwhile.
func sampleLoad() (avg string, pressure float64) {
	avg = "?"
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) >= 3 {
			avg = strings.Join(f[:3], " ")
		}
	}
	a, at := cpuStall()
	time.Sleep(idleWindow)
	b, bt := cpuStall()
	if a < 0 || b < a {
		return avg, -1
	}
	return avg, float64(b-a) / float64(bt.Sub(at).Microseconds())
}

// cpuStall is the "some" total of /proc/pressure/cpu: µs during which some
// task waited for a CPU; -1 when the kernel has no PSI.
func cpuStall() (int64, time.Time) {
	b, err := os.ReadFile("/proc/pressure/cpu")
	now := time.Now()
	if err != nil {
		return -1, now
	}
	line, _, _ := strings.Cut(string(b), "\n")
	for _, f := range strings.Fields(line) {
		if v, ok := strings.CutPrefix(f, "total="); ok {
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				return n, now
			}
		}
	}
	return -1, now
}

// busy reports whether others loaded the machine before or after the rounds.
func (l load) busy() bool { return max(l.pressureBefore, l.pressureAfter) > busyPressure }

// busyPressure is the CPU pressure of an idle second above which the
// report warns that the machine was not quiet.
const busyPressure = 0.10

// String describes the load in one line.
func (l load) String() string {
	s := fmt.Sprintf("load average (1, 5, 15 min): %s before the rounds, %s after", l.before, l.after)
	if l.pressureBefore >= 0 && l.pressureAfter >= 0 {
		s += fmt.Sprintf("; CPU pressure while the benchmark slept for a second: %.0f%% before, %.0f%% after",
			100*l.pressureBefore, 100*l.pressureAfter)
	}
	return s
}

package bench_test

// What perms cost in memory: the peak RSS of applying one recursive rule
// over a tree of 300,000 files, beside the same over a small tree and a
// middle one. The walk streams: past the first few thousand files (which
// bring the Go heap to its garbage collector's steady goal of about 4 MB)
// the peak no longer grows. The figure per file is the difference between
// the largest and the middle tree, per file more. Measured on
// `fix-perms` run in the installed root: the applet is the code /init
// runs for /etc/ignity/perms (perms.Apply), without the boot around
// it.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ignity/ignity/internal/boottest"
	"github.com/ignity/ignity/internal/harness"
)

// permsTrees are the tree sizes measured: directories x files in each.
var permsTrees = []struct{ dirs, files int }{{1, 100}, {30, 1000}, {300, 1000}}

// permsRuns is how many times each tree is fixed; every run changes every
// entry (the owner alternates).
const permsRuns = 3

// permsOwners are the rules the runs alternate, and what a file ends with.
var permsOwners = []struct {
	rule      string
	uid, mode uint32
}{{"1000:1000 0600 0700", 1000, 0o600}, {"0:0 0644 0755", 0, 0o644}}

// permsTree is the figures of one tree size.
type permsTree struct {
	files int
	peak  series // KiB, the applet's peak RSS (ru_maxrss)
	took  series // ms
}

// permsFigures are the trees measured, smallest first.
type permsFigures []permsTree

// measurePerms builds each tree in a fresh installed root and fixes it
// permsRuns times with fix-perms.
func measurePerms(t *testing.T, tarball string) permsFigures {
	t.Helper()
	var out permsFigures
	for _, size := range permsTrees {
		r := boottest.NewRoot(t, harness.Busybox, tarball)
		data := r.Path("/data")
		for d := range size.dirs {
			dir := filepath.Join(data, fmt.Sprintf("d%03d", d))
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			for f := range size.files {
				if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%04d", f)), nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
		tree := permsTree{files: size.dirs * size.files}
		for run := range permsRuns {
			owner := permsOwners[run%2].rule
			// Through GNU time, which forks fix-perms from its own small
			// process: a child this test process starts shares its memory
			// until the exec (Go's clone with CLONE_VM), and the kernel keeps
			// that high-water mark in the child's maxrss. (busybox's time
			// prints ru_maxrss four times too large.)
			rep := filepath.Join(t.TempDir(), "time")
			cmd := exec.Command("/usr/bin/time", "-f", "%M", "-o", rep, "chroot", r.Dir, "/usr/bin/fix-perms")
			cmd.Env = boottest.Env()
			cmd.Stdin = strings.NewReader("/data " + owner + "\n")
			start := time.Now()
			out, err := cmd.CombinedOutput()
			took := time.Since(start)
			if err != nil {
				t.Fatalf("fix-perms over %d files: %v\n%s", tree.files, err, out)
			}
			kib, err := maxRSS(rep)
			if err != nil {
				t.Fatal(err)
			}
			tree.peak = append(tree.peak, kib)
			tree.took = append(tree.took, toMs(took))
		}
		last := permsOwners[(permsRuns-1)%2]
		var st syscall.Stat_t
		if err := syscall.Lstat(filepath.Join(data, "d000", "f0000"), &st); err != nil || st.Uid != last.uid || st.Mode&0o777 != last.mode {
			t.Fatalf("the last run did not fix the tree: %v, uid %d mode %o", err, st.Uid, st.Mode&0o777)
		}
		out = append(out, tree)
		t.Logf("perms over %d files: peak RSS %s KiB, %s", tree.files, tree.peak.kib(), tree.took.ms())
	}
	return out
}

// perFile is the peak memory each file adds, in bytes: the difference of
// the medians between the two largest trees, per file more.
func (p permsFigures) perFile() float64 {
	mid, large := p[len(p)-2], p[len(p)-1]
	return (large.peak.median() - mid.peak.median()) * 1024 / float64(large.files-mid.files)
}

// rows are the perms figures of the main table.
func (p permsFigures) rows() []row {
	var rows []row
	for _, tree := range p {
		rows = append(rows, row{figure: fmt.Sprintf("9 perms: peak RSS of `fix-perms` fixing %d files (every one changed)", tree.files),
			ignity: fmt.Sprintf("%.2f MB (%.2f–%.2f) in %s", kibToMB(tree.peak.median()), kibToMB(tree.peak.min()), kibToMB(tree.peak.max()), tree.took.ms())})
	}
	mid, large := p[len(p)-2], p[len(p)-1]
	rows = append(rows, row{figure: fmt.Sprintf("9 perms: peak memory per file, %d → %d files (difference of the medians)", mid.files, large.files),
		ignity: fmt.Sprintf("%.1f bytes", p.perFile()), target: "≤ 8 bytes (flat)", result: verdict(p.perFile() <= 8)})
	return rows
}

// kib prints a series of KiB as median (min–max).
func (s series) kib() string {
	return fmt.Sprintf("%.0f (%.0f–%.0f)", s.median(), s.min(), s.max())
}

// TestBenchPerms measures the perms figures alone (TestBench measures them
// too, for the table).
func TestBenchPerms(t *testing.T) {
	if os.Getenv("IGNITY_BENCH") != "1" {
		t.Skip("a benchmark, not a test: run it with task bench (IGNITY_BENCH=1)")
	}
	harness.RequireRoot(t)
	p := measurePerms(t, harness.Tarball(t))
	for _, r := range p.rows() {
		fmt.Printf("| %s | %s | %s | %s |\n", r.figure, r.ignity, r.target, r.result)
	}
}

// maxRSS reads the peak RSS, in KiB, that GNU time -f %M wrote.
func maxRSS(report string) (float64, error) {
	b, err := os.ReadFile(report)
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(string(b)), 64)
	if err != nil {
		return 0, fmt.Errorf("%s: want GNU time's %%M, a number of KiB: %w", report, err)
	}
	return v, nil
}

package logprefix

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// recorder keeps every Write apart, to check that each is whole lines.
type recorder struct {
	mu     sync.Mutex
	writes []string
}

func (r *recorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.writes = append(r.writes, string(p))
	return len(p), nil
}

func (r *recorder) text() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.writes, "")
}

func TestWriter(t *testing.T) {
	for _, tt := range []struct {
		name   string
		chunks []string
		flush  bool
		want   []string // the writes
	}{
		{"one line", []string{"hello\n"}, false, []string{"web: hello\n"}},
		{"lines of one write together", []string{"a\nb\n"}, false, []string{"web: a\nweb: b\n"}},
		{"partial kept until its newline", []string{"hel", "lo", "\nwor"}, false, []string{"web: hello\n"}},
		{"partial flushed at the end", []string{"a\nlast words"}, true, []string{"web: a\n", "web: last words\n"}},
		{"nothing to flush", []string{"a\n"}, true, []string{"web: a\n"}},
		{"empty line", []string{"\n"}, false, []string{"web: \n"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var r recorder
			w := NewWriter("web", &r)
			for _, c := range tt.chunks {
				if n, err := w.Write([]byte(c)); err != nil || n != len(c) {
					t.Fatalf("Write(%q) = %d, %v", c, n, err)
				}
			}
			if tt.flush {
				if err := w.Flush(); err != nil {
					t.Fatal(err)
				}
			}
			if fmt.Sprint(r.writes) != fmt.Sprint(tt.want) {
				t.Errorf("writes %q, want %q", r.writes, tt.want)
			}
		})
	}
}

// TestWriterLongLine: a line longer than MaxLine is cut, each piece a
// prefixed line: memory stays bounded.
func TestWriterLongLine(t *testing.T) {
	var r recorder
	w := NewWriter("x", &r)
	w.Write(bytes.Repeat([]byte("a"), MaxLine+10))
	w.Write([]byte("\n"))
	want := "x: " + strings.Repeat("a", MaxLine) + "\nx: " + strings.Repeat("a", 10) + "\n"
	if got := r.text(); got != want {
		t.Errorf("got %d bytes, want %d: cut wrongly", len(got), len(want))
	}
}

// TestWritersNeverSplice: two services' partial lines, interleaved on one
// output, come out as whole lines.
func TestWritersNeverSplice(t *testing.T) {
	var r recorder
	a, b := NewWriter("a", &r), NewWriter("b", &r)
	a.Write([]byte("one "))
	b.Write([]byte("uno "))
	a.Write([]byte("two\nthr"))
	b.Write([]byte("dos\n"))
	a.Write([]byte("ee\n"))
	want := []string{"a: one two\n", "b: uno dos\n", "a: three\n"}
	if fmt.Sprint(r.writes) != fmt.Sprint(want) {
		t.Errorf("writes %q, want %q", r.writes, want)
	}
}

// fifos makes the prefixed service dirs of names under a temp dir.
func fifos(t *testing.T, names ...string) []string {
	t.Helper()
	var dirs []string
	for _, n := range names {
		d := filepath.Join(t.TempDir(), n)
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "run"), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := Prepare(d, "/bin/true"); err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, d)
	}
	return dirs
}

func openW(t *testing.T, p string) int {
	t.Helper()
	fd, err := unix.Open(p, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return fd
}

// TestRun: two services' interleaved partial lines on real FIFOs, stdout
// and stderr apart, lines written before the prefixer opens the FIFOs,
// and the last partial lines at the stop: every line comes out whole, on
// its own stream, none lost.
func TestRun(t *testing.T) {
	dirs := fifos(t, "web", "db")
	web := [2]int{openW(t, filepath.Join(dirs[0], StdoutFifo)), openW(t, filepath.Join(dirs[0], StderrFifo))}
	db := [2]int{openW(t, filepath.Join(dirs[1], StdoutFifo)), openW(t, filepath.Join(dirs[1], StderrFifo))}
	// Before the prefixer runs: kept in the FIFO.
	unix.Write(web[0], []byte("early\n"))

	var out, errs recorder
	stop := make(chan struct{})
	done := make(chan error, 1)
	ended := func(Source) bool { return true }
	go func() { done <- Run(Sources(dirs), &out, &errs, stop, ended) }()

	waitFor := func(r *recorder, s string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for !strings.Contains(r.text(), s) {
			if time.Now().After(deadline) {
				t.Fatalf("no %q in %q", s, r.text())
			}
			time.Sleep(time.Millisecond)
		}
	}
	unix.Write(web[0], []byte("GET /"))
	unix.Write(db[0], []byte("SELECT"))
	waitFor(&out, "web: early\n")
	unix.Write(web[1], []byte("warn"))
	unix.Write(db[0], []byte(" 1\n"))
	waitFor(&out, "db: SELECT 1\n")
	unix.Write(web[0], []byte(" 200\n"))
	unix.Write(web[1], []byte("ing\n"))
	waitFor(&errs, "web: warning\n")
	// Just before the stop: a whole line and a partial one.
	unix.Write(db[1], []byte("bye\nno newline"))
	close(stop)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop")
	}
	if got, want := out.text(), "web: early\ndb: SELECT 1\nweb: GET / 200\n"; got != want {
		t.Errorf("stdout %q, want %q", got, want)
	}
	if got, want := errs.text(), "web: warning\ndb: bye\ndb: no newline\n"; got != want {
		t.Errorf("stderr %q, want %q", got, want)
	}
	for _, w := range append(out.writes, errs.writes...) {
		if !strings.HasSuffix(w, "\n") {
			t.Errorf("write %q is not whole lines", w)
		}
	}
}

func TestPrepare(t *testing.T) {
	d := fifos(t, "web")[0]
	if target, err := os.Readlink(filepath.Join(d, "run")); err != nil || target != "/bin/true" {
		t.Errorf("run -> %q, %v; want the wrapper", target, err)
	}
	if !Prefixed(d) {
		t.Error("Prefixed = false after Prepare")
	}
	for _, f := range []string{StdoutFifo, StderrFifo} {
		st, err := os.Stat(filepath.Join(d, f))
		if err != nil || st.Mode()&os.ModeNamedPipe == 0 || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, %v; want a FIFO of mode 0600", f, st, err)
		}
	}
}

// waitText polls r until it holds s.
func waitText(t *testing.T, r *recorder, s string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(r.text(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in %q", s, r.text())
		}
		time.Sleep(time.Millisecond)
	}
}

// TestRunDrainsUntilEnded: told to stop, the prefixer goes on reading a
// service that has not ended (its last words come after the stop), and
// returns only once it has, with its partial line flushed; a service
// that has ended does not hold it.
func TestRunDrainsUntilEnded(t *testing.T) {
	dirs := fifos(t, "web", "db")
	web := openW(t, filepath.Join(dirs[0], StdoutFifo))
	var mu sync.Mutex
	webEnded := false
	ended := func(s Source) bool {
		mu.Lock()
		defer mu.Unlock()
		return s.Name != "web" || webEnded
	}
	var out, errs recorder
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- Run(Sources(dirs), &out, &errs, stop, ended) }()
	unix.Write(web, []byte("before\n"))
	waitText(t, &out, "web: before\n")
	close(stop)
	// The stop is taken: a late line is still read.
	unix.Write(web, []byte("last words\n"))
	waitText(t, &out, "web: last words\n")
	select {
	case err := <-done:
		t.Fatalf("Run returned (%v) before web ended", err)
	default:
	}
	unix.Write(web, []byte("no newline"))
	mu.Lock()
	webEnded = true
	mu.Unlock()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return once web ended")
	}
	if got, want := out.text(), "web: before\nweb: last words\nweb: no newline\n"; got != want {
		t.Errorf("stdout %q, want %q", got, want)
	}
}

// TestRunSkipsBadSource: a source that is missing, or a regular file in
// place of its FIFO, is reported and skipped; the others flow.
func TestRunSkipsBadSource(t *testing.T) {
	dirs := fifos(t, "web", "bad")
	bad := filepath.Join(dirs[1], StdoutFifo)
	os.Remove(bad)
	if err := os.WriteFile(bad, []byte("x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dirs[1], StderrFifo))
	web := openW(t, filepath.Join(dirs[0], StdoutFifo))
	var out, errs recorder
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- Run(Sources(dirs), &out, &errs, stop, func(Source) bool { return true }) }()
	unix.Write(web, []byte("fine\n"))
	waitText(t, &out, "web: fine\n")
	close(stop)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{bad + ": not a FIFO", filepath.Join(dirs[1], StderrFifo) + ": no such file"} {
		if !strings.Contains(errs.text(), want) {
			t.Errorf("stderr %q lacks %q", errs.text(), want)
		}
	}
	if strings.Contains(out.text(), "bad:") {
		t.Errorf("the regular file was read: %q", out.text())
	}
}

// TestFind: the prefixed services of the scandir and of the held
// directory, each once, in name order, looked for in the scandir first;
// a service that is not prefixed, and dot names, are not sources.
func TestFind(t *testing.T) {
	root := t.TempDir()
	scandir, held := filepath.Join(root, "services-state"), filepath.Join(root, "services")
	for _, d := range []string{scandir, held} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	prefixed := func(dir string) {
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "run"), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := Prepare(dir, "/bin/true"); err != nil {
			t.Fatal(err)
		}
	}
	prefixed(filepath.Join(scandir, "web"))
	prefixed(filepath.Join(held, "app"))
	prefixed(filepath.Join(scandir, ".hidden"))
	if err := os.Mkdir(filepath.Join(scandir, "logged"), 0o755); err != nil {
		t.Fatal(err)
	}
	// held as the scandir's symlink, once every service moved in.
	link := filepath.Join(root, "link")
	if err := os.Symlink("services-state", link); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name  string
		held  string
		names []string
	}{
		{"held apart", held, []string{"app", "app", "web", "web"}},
		{"held is the scandir", link, []string{"web", "web"}},
		{"no held dir", filepath.Join(root, "gone"), []string{"web", "web"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Find(scandir, tt.held)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for i, s := range got {
				names = append(names, s.Name)
				wantFifo := StdoutFifo
				if i%2 == 1 {
					wantFifo = StderrFifo
				}
				if s.Stderr != (i%2 == 1) || s.Path != filepath.Join(scandir, s.Name, wantFifo) || s.Alt != filepath.Join(tt.held, s.Name, wantFifo) {
					t.Errorf("source %d = %+v", i, s)
				}
			}
			if fmt.Sprint(names) != fmt.Sprint(tt.names) {
				t.Errorf("names %v, want %v", names, tt.names)
			}
			// Each opens: in the scandir, or in held.
			for _, s := range got {
				fd, err := s.open()
				if err != nil {
					t.Errorf("open %+v: %v", s, err)
					continue
				}
				unix.Close(fd)
			}
		})
	}
}

// TestEnded: a service has ended once neither run nor finish runs (pid 0
// in supervise/status), or once no supervisor reads its control FIFO.
func TestEnded(t *testing.T) {
	scandir := t.TempDir()
	sup := filepath.Join(scandir, "web", "supervise")
	if err := os.MkdirAll(sup, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mkfifo(filepath.Join(sup, "control"), 0o600); err != nil {
		t.Fatal(err)
	}
	status := func(pid uint64) {
		b := make([]byte, 43)
		binary.BigEndian.PutUint64(b[0:8], 1<<62)
		binary.BigEndian.PutUint64(b[12:20], 1<<62)
		binary.BigEndian.PutUint64(b[24:32], pid)
		if err := os.WriteFile(filepath.Join(sup, "status"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ended := Ended(scandir)
	web := Source{Name: "web"}
	status(42)
	if !ended(web) {
		t.Error("ended = false with no supervisor listening")
	}
	// A supervisor: a reader on the control FIFO.
	fd, err := unix.Open(filepath.Join(sup, "control"), unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if ended(web) {
		t.Error("ended = true while its supervisor listens and pid 42 runs")
	}
	status(0)
	if !ended(web) {
		t.Error("ended = false with pid 0")
	}
	if !ended(Source{Name: "held"}) {
		t.Error("ended = false for a service with no dir in the scandir")
	}
}

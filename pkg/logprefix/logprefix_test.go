package logprefix

import (
	"bytes"
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
	go func() { done <- Run(Sources(dirs), &out, &errs, stop) }()

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

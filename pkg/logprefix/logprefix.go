// Package logprefix prefixes the output of services that have no log/
// with their names (IGNITY_LOG_PREFIX=1): "web: GET / 200".
//
// Each such service gets a pair of FIFOs in its service dir, one for its
// stdout and one for its stderr; its run program is ignity's wrapper
// (Exec), which opens them onto fds 1 and 2 and execs the service's own
// run. One process, the prefixer (Run), reads every FIFO and writes each
// whole line, prefixed, to the container's stdout or stderr, the stream
// it came from. The contract:
//
//   - a line reaches the output whole, in one write: a partial line of
//     one service is kept until its newline and never spliced into
//     another's;
//   - stdout stays stdout, stderr stays stderr;
//   - the FIFOs outlive the service's restarts: the prefixer holds each
//     open for reading and writing, so it never sees an end of file when
//     a service exits, and the wrapper opens them for reading and writing
//     too, which never blocks, whichever of the two comes first (what a
//     service writes before the prefixer runs waits in the FIFO);
//   - at the end (SIGTERM, sent by stage3 once the services are down) the
//     prefixer reads what is left in every FIFO, ends each partial line
//     with a newline, and exits: no line is lost.
package logprefix

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// The files of a prefixed service dir.
const (
	StdoutFifo = ".ignity-stdout" // the service's stdout
	StderrFifo = ".ignity-stderr" // the service's stderr
	RealRun    = ".ignity-run"    // the service's own run, renamed
)

// MaxLine is the longest line kept whole: a line longer than that is cut
// into lines of MaxLine bytes, each prefixed, so a service that never
// writes a newline cannot make the prefixer hold unbounded memory.
const MaxLine = 64 << 10

// Writer prefixes the lines of one source and writes them to out, each
// line whole, the lines of one Write together in one write. What follows
// the last newline is kept until the next Write completes it, or Flush.
type Writer struct {
	prefix  []byte
	out     io.Writer
	partial []byte
	buf     []byte // scratch: the prefixed lines of one Write
}

// NewWriter prefixes with "name: ".
func NewWriter(name string, out io.Writer) *Writer {
	return &Writer{prefix: []byte(name + ": "), out: out}
}

// Write takes any bytes of the source; it writes out the lines they
// complete.
func (w *Writer) Write(p []byte) (int, error) {
	n := len(p)
	w.buf = w.buf[:0]
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			room := MaxLine - len(w.partial)
			if len(p) < room {
				w.partial = append(w.partial, p...)
				break
			}
			// A line too long: cut it at MaxLine.
			w.partial = append(w.partial, p[:room]...)
			p = p[room:]
			w.line(nil)
			continue
		}
		w.line(p[:i])
		p = p[i+1:]
	}
	if len(w.buf) == 0 {
		return n, nil
	}
	_, err := w.out.Write(w.buf)
	return n, err
}

// line appends the prefixed partial line plus rest, and a newline, to the
// scratch buffer.
func (w *Writer) line(rest []byte) {
	w.buf = append(w.buf, w.prefix...)
	w.buf = append(w.buf, w.partial...)
	w.buf = append(w.buf, rest...)
	w.buf = append(w.buf, '\n')
	w.partial = w.partial[:0]
}

// Flush writes a pending partial line, ended with a newline: at the end
// of the source, its last words.
func (w *Writer) Flush() error {
	if len(w.partial) == 0 {
		return nil
	}
	w.buf = w.buf[:0]
	w.line(nil)
	_, err := w.out.Write(w.buf)
	return err
}

// Source is one FIFO the prefixer reads.
type Source struct {
	Name   string // the service, the prefix
	Path   string // the FIFO
	Stderr bool   // it is the service's stderr
}

// Sources lists the FIFOs of the prefixed service dirs dirs, two each.
func Sources(dirs []string) []Source {
	var out []Source
	for _, d := range dirs {
		name := filepath.Base(d)
		out = append(out,
			Source{Name: name, Path: filepath.Join(d, StdoutFifo)},
			Source{Name: name, Path: filepath.Join(d, StderrFifo), Stderr: true})
	}
	return out
}

// Run is the prefixer: it reads every source and writes its lines,
// prefixed, to stdout or stderr, until stop is closed; then it drains
// every FIFO, flushes every partial line and returns. It is one thread of
// poll(2) over the FIFOs, non-blocking, and a pipe that stop wakes.
func Run(sources []Source, stdout, stderr io.Writer, stop <-chan struct{}) error {
	wake, wakeW, err := pipe()
	if err != nil {
		return err
	}
	go func() {
		<-stop
		unix.Write(wakeW, []byte{0})
	}()
	fds := []unix.PollFd{{Fd: int32(wake), Events: unix.POLLIN}}
	writers := make([]*Writer, len(sources))
	for i, s := range sources {
		// O_RDWR: the prefixer is a writer too, so the FIFO never reports
		// an end of file between two runs of the service.
		fd, err := unix.Open(s.Path, unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("open %s: %w", s.Path, err)
		}
		fds = append(fds, unix.PollFd{Fd: int32(fd), Events: unix.POLLIN})
		out := stdout
		if s.Stderr {
			out = stderr
		}
		writers[i] = NewWriter(s.Name, out)
	}
	buf := make([]byte, 32<<10)
	for {
		if _, err := unix.Poll(fds, -1); err != nil && err != unix.EINTR {
			return fmt.Errorf("poll: %w", err)
		}
		for i, p := range fds[1:] {
			if p.Revents != 0 {
				drain(int(p.Fd), writers[i], buf)
			}
		}
		if fds[0].Revents != 0 {
			break
		}
	}
	// Stopping: whatever the services wrote is in the FIFOs now.
	var errs []error
	for i, p := range fds[1:] {
		drain(int(p.Fd), writers[i], buf)
		errs = append(errs, writers[i].Flush())
	}
	return errors.Join(errs...)
}

// drain reads fd until it would block, into w. A write error to the
// container's output is dropped: there is nowhere to report it, and the
// FIFO must still be emptied so that the service never blocks.
func drain(fd int, w *Writer, buf []byte) {
	for {
		n, err := unix.Read(fd, buf)
		if n > 0 {
			w.Write(buf[:n])
		}
		if err == unix.EINTR {
			continue
		}
		if n <= 0 || err != nil {
			return
		}
	}
}

func pipe() (r, w int, err error) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		return 0, 0, fmt.Errorf("pipe: %w", err)
	}
	return p[0], p[1], nil
}

// Prepare makes the service dir dir prefixed: its two FIFOs, its run
// renamed RealRun, and run a symlink to exe, ignity's binary, which Exec
// then runs (a symlink, so that it runs from the image's filesystem when
// dir is on a noexec tmpfs). The FIFOs are the owner's alone: the wrapper
// opens them before the service drops any privilege.
func Prepare(dir, exe string) error {
	for _, f := range []string{StdoutFifo, StderrFifo} {
		p := filepath.Join(dir, f)
		if err := unix.Mkfifo(p, 0o600); err != nil {
			return fmt.Errorf("create the FIFO %s: %w", p, err)
		}
		if err := os.Chmod(p, 0o600); err != nil {
			return err
		}
	}
	if err := os.Rename(filepath.Join(dir, "run"), filepath.Join(dir, RealRun)); err != nil {
		return err
	}
	return os.Symlink(exe, filepath.Join(dir, "run"))
}

// Prefixed reports whether the service dir dir was made prefixed.
func Prefixed(dir string) bool {
	_, err := os.Lstat(filepath.Join(dir, RealRun))
	return err == nil
}

// Redirect opens a prefixed service's FIFOs onto stdout and stderr, in
// its service dir (s6-supervise runs ./run there): ignity's run calls it
// before it execs the service's own run (see stages.ServiceRun).
func Redirect() error {
	for _, f := range []struct {
		name string
		fd   int
	}{{StdoutFifo, 1}, {StderrFifo, 2}} {
		// O_RDWR never blocks, and works before the prefixer opens it.
		fd, err := unix.Open(f.name, unix.O_RDWR, 0)
		if err != nil {
			return fmt.Errorf("open %s: %w", f.name, err)
		}
		if err := unix.Dup3(fd, f.fd, 0); err != nil {
			return fmt.Errorf("redirect fd %d to %s: %w", f.fd, f.name, err)
		}
		unix.Close(fd)
	}
	return nil
}

// Main is the prefixer process, for the service dirs dirs: Run until
// SIGTERM (stage3's, once the services are down; SIGINT and SIGQUIT do
// the same). A broken output is an error of write, not a death by
// SIGPIPE: the FIFOs must still be drained.
func Main(dirs []string, stdout, stderr io.Writer) error {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, unix.SIGTERM, unix.SIGINT, unix.SIGQUIT)
	signal.Ignore(unix.SIGHUP, unix.SIGPIPE)
	stop := make(chan struct{})
	go func() {
		<-sigs
		close(stop)
	}()
	return Run(Sources(dirs), stdout, stderr, stop)
}

// Package logprefix prefixes the output of services that have no log/
// with their names (IGNITY_LOG_PREFIX=1): "web: GET / 200".
//
// Each such service gets a pair of FIFOs in its service dir, one for its
// stdout and one for its stderr; its run program is ignity's wrapper
// (Exec), which opens them onto fds 1 and 2 and execs the service's own
// run. One process, the prefixer (Run), reads every FIFO and writes each
// whole line, prefixed, to the container's stdout or stderr, the stream
// it came from. The prefixer is an s6 service of its own (Service, in the
// scandir), so s6-supervise restarts it when it dies. The contract:
//
//   - a line reaches the output whole, in one write: a partial line of
//     one service is kept until its newline and never spliced into
//     another's;
//   - stdout stays stdout, stderr stays stderr;
//   - the FIFOs outlive the service's restarts and the prefixer's: the
//     prefixer holds each open for reading and writing, so it never sees
//     an end of file when a service exits, and the wrapper opens them for
//     reading and writing too, which never blocks, whichever of the two
//     comes first. What a service writes while no prefixer runs waits in
//     its FIFO (the service blocks only once the FIFO's 64 KiB are full)
//     and comes out when the next prefixer starts. A crash loses what the
//     dead prefixer had read and not yet written (at most a partial line
//     per FIFO), and a service that exits while no prefixer runs takes
//     its unread lines with it: nothing else holds its FIFO open;
//   - at the end (SIGTERM: s6-supervise's, when stage3 or s6-svscan
//     brings every service down) the prefixer keeps reading every FIFO
//     until the service writing it has no process left (or no
//     supervisor), ends each partial line with a newline, and exits: no
//     line of a service's last words is lost.
package logprefix

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"time"

	"github.com/ignity/ignity/pkg/confdir"
	"github.com/ignity/ignity/pkg/proc"
	"github.com/ignity/ignity/pkg/s6"
	"golang.org/x/sys/unix"
)

// The files of a prefixed service dir.
const (
	StdoutFifo = ".ignity-stdout" // the service's stdout
	StderrFifo = ".ignity-stderr" // the service's stderr
	RealRun    = ".ignity-run"    // the service's own run, renamed
)

// Service is the prefixer's own service dir in the scandir: its run is
// ignity's binary, which execs the log-prefixer applet (Main).
const Service = "ignity-log-prefixer"

// tick is how often the prefixer, once told to stop, looks whether the
// services it still waits for have ended (it wakes at once for data).
const tick = 20 * time.Millisecond

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
	Alt    string // where the FIFO may be instead (a held service moved in), or ""
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

// Find lists the FIFOs of every prefixed service, in name order: those of
// the scandir, and those of held, where a service with dependencies waits
// until the ordered start moves it into the scandir. held is read first,
// so a service moved in the meantime is found in one place or the other;
// its FIFOs are looked for in the scandir first, then in held.
func Find(scandir, held string) ([]Source, error) {
	names := map[string]bool{}
	for _, d := range []string{held, scandir} {
		entries, err := confdir.Read(d)
		if errors.Is(err, os.ErrNotExist) && d == held {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("find the prefixed services: %w", err)
		}
		for _, e := range entries {
			if Prefixed(filepath.Join(d, e.Name())) {
				names[e.Name()] = true
			}
		}
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	var out []Source
	for _, n := range sorted {
		for _, f := range []string{StdoutFifo, StderrFifo} {
			out = append(out, Source{Name: n, Path: filepath.Join(scandir, n, f),
				Alt: filepath.Join(held, n, f), Stderr: f == StderrFifo})
		}
	}
	return out, nil
}

// open opens s's FIFO to read it, at Path or else Alt. It must be a FIFO:
// a regular file there would be read forever.
func (s Source) open() (int, error) {
	fd, err := unix.Open(s.Path, unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	p := s.Path
	if err == unix.ENOENT && s.Alt != "" {
		fd, err = unix.Open(s.Alt, unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
		p = s.Alt
	}
	if err != nil {
		return -1, fmt.Errorf("open %s: %w", p, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFIFO {
		unix.Close(fd)
		return -1, fmt.Errorf("open %s: not a FIFO", p)
	}
	return fd, nil
}

// Run is the prefixer: it reads every source and writes its lines,
// prefixed, to stdout or stderr, until stop is closed. Then it goes on
// reading each source until ended reports that nothing writes it any
// more (checked before a last read, so what was written before is not
// lost), flushes its partial line, and returns once every source has
// ended. It is one thread of poll(2) over the FIFOs, non-blocking, and a
// pipe that stop wakes. A source that cannot be opened is reported on
// stderr and skipped: the others must still flow.
func Run(sources []Source, stdout, stderr io.Writer, stop <-chan struct{}, ended func(Source) bool) error {
	wake, wakeW, err := pipe()
	if err != nil {
		return err
	}
	go func() {
		<-stop
		unix.Write(wakeW, []byte{0})
	}()
	fds := []unix.PollFd{{Fd: int32(wake), Events: unix.POLLIN}}
	var open []Source
	var writers []*Writer
	for _, s := range sources {
		// O_RDWR: the prefixer is a writer too, so the FIFO never reports
		// an end of file between two runs of the service.
		fd, err := s.open()
		if err != nil {
			fmt.Fprintf(stderr, "ignity: log-prefixer: %v: %s's output is not read\n", err, s.Name)
			continue
		}
		fds = append(fds, unix.PollFd{Fd: int32(fd), Events: unix.POLLIN})
		out := stdout
		if s.Stderr {
			out = stderr
		}
		open = append(open, s)
		writers = append(writers, NewWriter(s.Name, out))
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
	// Stopping: the services are being brought down too, and may still
	// write their last words. Each source is done once its service has
	// ended and it is drained.
	var errs []error
	left := make([]int, len(open))
	for i := range left {
		left[i] = i
	}
	wait := make([]unix.PollFd, 0, len(open))
	for {
		still := left[:0]
		wait = wait[:0]
		for _, i := range left {
			gone := ended(open[i])
			drain(int(fds[i+1].Fd), writers[i], buf)
			if gone {
				errs = append(errs, writers[i].Flush())
				continue
			}
			still = append(still, i)
			wait = append(wait, unix.PollFd{Fd: fds[i+1].Fd, Events: unix.POLLIN})
		}
		left = still
		if len(left) == 0 {
			return errors.Join(errs...)
		}
		if _, err := unix.Poll(wait, int(tick.Milliseconds())); err != nil && err != unix.EINTR {
			return fmt.Errorf("poll: %w", err)
		}
	}
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
// before it execs the service's own run (see restart.ServiceRun).
func Redirect() error {
	// Read-write, this works before the prefixer opens them.
	if err := proc.OpenOnto(StdoutFifo, 1); err != nil {
		return err
	}
	return proc.OpenOnto(StderrFifo, 2)
}

// Main is the prefixer process, the log-prefixer applet: args are the
// scandir and the directory of held services (see Find). It runs until
// SIGTERM (s6-supervise's, when the services are brought down; SIGINT and
// SIGQUIT do the same), then until every prefixed service has ended (see
// Ended). A second signal changes nothing: the drain is bounded by the
// service's timeout-kill and the shutdown's last SIGKILL. A broken output
// is an error of write, not a death by SIGPIPE: the FIFOs must still be
// drained.
func Main(args []string, stdout, stderr io.Writer) error {
	if len(args) != 2 {
		return fmt.Errorf("want the scandir and the held services' directory, got %q", args)
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, unix.SIGTERM, unix.SIGINT, unix.SIGQUIT)
	signal.Ignore(unix.SIGHUP, unix.SIGPIPE)
	stop := make(chan struct{})
	go func() {
		<-sigs
		close(stop)
	}()
	sources, err := Find(args[0], args[1])
	if err != nil {
		return err
	}
	return Run(sources, stdout, stderr, stop, Ended(args[0]))
}

// Ended reports, for a source, whether its service in scandir has no
// process left that may write its FIFO: neither run nor finish (which
// cleans up what run left behind) runs, or no s6-supervise watches it any
// more (a held service never moved in has none).
func Ended(scandir string) func(Source) bool {
	return func(s Source) bool {
		dir := filepath.Join(scandir, s.Name)
		if !s6.Listening(s6.Control(dir)) {
			return true
		}
		st, err := s6.ReadStatus(dir)
		return err != nil || st.Pid == 0
	}
}

package harness

// The parent side of a boot: start the namespace child, feed and collect its
// terminal or pipes, enforce TermAfter and Timeout, and turn the wait status
// into a Result.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// defaultPATH is PID 1's whole environment when Options.Env is nil.
const defaultPATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// defaultTimeout bounds a boot when Options.Timeout is 0.
const defaultTimeout = 30 * time.Second

// Options describe how PID 1 runs. The zero value runs it as root with only
// PATH set, stdin from /dev/null, separate stdout/stderr pipes, a writable
// root and a 30 s limit.
type Options struct {
	// Env is the exact environment of PID 1 (NAME=value). nil means
	// PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin only;
	// an empty non-nil slice means an empty environment.
	Env []string
	// User is "uid:gid" (numeric; "uid" alone means gid 0, as docker run
	// --user does for an unknown user). PID 1 runs with no supplementary
	// groups. "" means root.
	User string
	// ReadOnly makes the root filesystem read-only; /proc, /dev and Tmpfs
	// stay writable.
	ReadOnly bool
	// Tmpfs lists tmpfs mounts inside the root, "path" or "path:opts", e.g.
	// "/run/ignity:size=64k,mode=1777". Default flags are nosuid,nodev;
	// opts may add ro, noexec (docker run --tmpfs's default) and the like.
	Tmpfs []string
	// Stdin feeds PID 1's standard input; nil means /dev/null. With TTY it is
	// typed into the terminal instead (nil: nothing is typed).
	Stdin io.Reader
	// TTY gives PID 1 a fresh pty as controlling terminal and as stdin,
	// stdout and stderr; the output is read from the master (so it carries
	// the terminal's \r\n) and Result.Stderr stays empty.
	TTY bool
	// TermAfter, if > 0, sends SIGTERM to PID 1 that long after the start.
	TermAfter time.Duration
	// Timeout is the hard limit (default 30 s): then PID 1 gets SIGKILL,
	// which kills its whole namespace, and Result.TimedOut is set.
	Timeout time.Duration
}

// Result is how PID 1 ended.
type Result struct {
	// ExitCode is the exit status, or 128+n when PID 1 died of signal n.
	ExitCode int
	Signaled bool
	Signal   syscall.Signal
	// Stdout and Stderr are PID 1's two streams; Output interleaves them in
	// arrival order. With TTY, Stdout and Output hold the terminal's output.
	Stdout, Stderr, Output string
	Elapsed                time.Duration
	// TimedOut means the harness killed PID 1 at Options.Timeout.
	TimedOut bool
}

// String summarizes r for failure messages: how it ended, when, and the
// whole output.
func (r *Result) String() string {
	var b strings.Builder
	if r.Signaled {
		fmt.Fprintf(&b, "killed by signal %d (%v), exit code %d", int(r.Signal), r.Signal, r.ExitCode)
	} else {
		fmt.Fprintf(&b, "exit code %d", r.ExitCode)
	}
	fmt.Fprintf(&b, " after %v", r.Elapsed.Round(time.Millisecond))
	if r.TimedOut {
		b.WriteString(" (timed out: the harness sent SIGKILL)")
	}
	b.WriteString("\n--- output ---\n")
	b.WriteString(r.Output)
	if r.Output != "" && !strings.HasSuffix(r.Output, "\n") {
		b.WriteString("\n")
	}
	b.WriteString("--- end of output ---")
	return b.String()
}

// Proc is a running boot.
type Proc struct {
	cmd      *exec.Cmd
	start    time.Time
	master   *os.File // pty master in TTY mode
	out      output
	timedOut atomic.Bool
	done     chan struct{} // closed once res is set
	res      *Result
}

// Boot runs argv as PID 1 in the root and waits for it to exit: Start, then
// Wait.
func (r *Root) Boot(t testing.TB, o Options, argv ...string) *Result {
	t.Helper()
	return r.Start(t, o, argv...).Wait()
}

// Start boots argv as PID 1 of new pid, mount, uts and ipc namespaces with
// the root as "/". argv[0] is a path inside the root (looked up in PATH when
// it has no "/"). Start returns once argv[0] has been exec'd; a setup failure
// fails the test. If the test ends first, PID 1 is killed.
func (r *Root) Start(t testing.TB, o Options, argv ...string) *Proc {
	t.Helper()
	if !initCalled {
		t.Fatal("harness: Init was not called; call harness.Init() first in TestMain")
	}
	if len(argv) == 0 {
		t.Fatal("harness: Start needs argv")
	}
	spec := childSpec{Root: r.Dir, Argv: argv, Env: o.Env, ReadOnly: o.ReadOnly, Tmpfs: o.Tmpfs}
	if spec.Env == nil {
		spec.Env = []string{"PATH=" + defaultPATH}
	}
	if o.User != "" {
		uid, gid, err := parseUser(o.User)
		if err != nil {
			t.Fatalf("harness: %v", err)
		}
		spec.User, spec.UID, spec.GID = true, uid, gid
	}
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = defaultTimeout
	}

	p := &Proc{done: make(chan struct{})}
	cmd := exec.Command("/proc/self/exe", "-test.run=^$")
	cmd.Args[0] = "ignity-harness-child"
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWPID | syscall.CLONE_NEWNS | syscall.CLONE_NEWUTS | syscall.CLONE_NEWIPC,
		// PID 1 leads its own session, as in a container.
		Setsid: true,
		// The namespace must not outlive a crashed test binary.
		Pdeathsig: syscall.SIGKILL,
	}
	var slave *os.File
	if o.TTY {
		var err error
		p.master, slave, err = openPTY()
		if err != nil {
			t.Fatalf("harness: %v", err)
		}
		spec.TTY = slave.Name()
		cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
		cmd.SysProcAttr.Setctty = true
		cmd.SysProcAttr.Ctty = 0 // fd 0 in the child
	} else {
		cmd.Stdin = o.Stdin
		cmd.Stdout = streamWriter{&p.out, &p.out.stdout}
		cmd.Stderr = streamWriter{&p.out, &p.out.stderr}
		// Bounds the copying after exit should anything keep a pipe open.
		cmd.WaitDelay = 2 * time.Second
	}
	js, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Env = []string{childEnv + "=" + string(js)}
	report, reportW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer report.Close()
	cmd.ExtraFiles = []*os.File{reportW} // reportFD in the child

	p.start = time.Now()
	err = cmd.Start()
	reportW.Close()
	if slave != nil {
		slave.Close()
	}
	if err != nil {
		if p.master != nil {
			p.master.Close()
		}
		t.Fatalf("harness: start namespace child: %v", err)
	}
	p.cmd = cmd

	// EOF without a message: the close-on-exec report pipe closed when the
	// target replaced the child.
	msg, _ := io.ReadAll(report)
	if len(msg) > 0 {
		cmd.Wait()
		if p.master != nil {
			p.master.Close()
		}
		t.Fatalf("harness: boot %q in %s: %s", argv, r.Dir, msg)
	}

	var ttyDone chan struct{}
	if o.TTY {
		ttyDone = make(chan struct{})
		go p.readTTY(ttyDone)
		if o.Stdin != nil {
			go io.Copy(p.master, o.Stdin)
		}
	}
	go p.wait(ttyDone)
	go p.enforce(o.TermAfter, timeout)
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// parseUser parses "uid:gid" or "uid".
func parseUser(s string) (uid, gid int, err error) {
	us, gs, hasGID := strings.Cut(s, ":")
	uid, err = strconv.Atoi(us)
	if err != nil || uid < 0 {
		return 0, 0, fmt.Errorf("bad user %q: want numeric uid:gid", s)
	}
	if hasGID {
		gid, err = strconv.Atoi(gs)
		if err != nil || gid < 0 {
			return 0, 0, fmt.Errorf("bad user %q: want numeric uid:gid", s)
		}
	}
	return uid, gid, nil
}

// openPTY allocates a pty pair from the host's /dev/ptmx.
func openPTY() (master, slave *os.File, err error) {
	master, err = os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("open pty: %w", err)
	}
	// Not master.Fd(): that would switch the master to blocking mode, and
	// Close could then no longer interrupt the reader.
	var n uint32
	var ioErr error
	raw, err := master.SyscallConn()
	if err == nil {
		err = raw.Control(func(fd uintptr) {
			if ioErr = unix.IoctlSetPointerInt(int(fd), unix.TIOCSPTLCK, 0); ioErr == nil {
				n, ioErr = unix.IoctlGetUint32(int(fd), unix.TIOCGPTN)
			}
		})
	}
	if err == nil {
		err = ioErr
	}
	if err != nil {
		master.Close()
		return nil, nil, fmt.Errorf("unlock pty: %w", err)
	}
	slave, err = os.OpenFile("/dev/pts/"+strconv.FormatUint(uint64(n), 10), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		master.Close()
		return nil, nil, fmt.Errorf("open pty slave: %w", err)
	}
	return master, slave, nil
}

// readTTY copies the terminal's output until every slave is closed, which the
// master reports as EIO once PID 1's namespace is gone.
func (p *Proc) readTTY(done chan<- struct{}) {
	defer close(done)
	w := streamWriter{&p.out, &p.out.stdout}
	buf := make([]byte, 4096)
	for {
		n, err := p.master.Read(buf)
		if n > 0 {
			w.Write(buf[:n])
		}
		if err != nil {
			return
		}
	}
}

// wait reaps PID 1 and publishes the Result.
func (p *Proc) wait(ttyDone <-chan struct{}) {
	err := p.cmd.Wait()
	elapsed := time.Since(p.start)
	if ttyDone != nil {
		select {
		case <-ttyDone:
		case <-time.After(2 * time.Second):
		}
		p.master.Close()
	}
	res := &Result{Elapsed: elapsed, TimedOut: p.timedOut.Load()}
	if ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus); ok {
		switch {
		case ws.Exited():
			res.ExitCode = ws.ExitStatus()
		case ws.Signaled():
			res.Signaled = true
			res.Signal = ws.Signal()
			res.ExitCode = 128 + int(ws.Signal())
		}
	} else {
		res.ExitCode = -1
		res.Output = fmt.Sprintf("harness: wait: %v\n", err)
	}
	p.out.mu.Lock()
	res.Stdout, res.Stderr = p.out.stdout.String(), p.out.stderr.String()
	res.Output += p.out.all.String()
	p.out.mu.Unlock()
	p.res = res
	close(p.done)
}

// enforce sends SIGTERM at termAfter and SIGKILL at timeout, both counted
// from the start, unless PID 1 is gone by then.
func (p *Proc) enforce(termAfter, timeout time.Duration) {
	var term <-chan time.Time
	if termAfter > 0 {
		tt := time.NewTimer(termAfter - time.Since(p.start))
		defer tt.Stop()
		term = tt.C
	}
	kill := time.NewTimer(timeout - time.Since(p.start))
	defer kill.Stop()
	for {
		select {
		case <-p.done:
			return
		case <-term:
			term = nil
			p.Signal(syscall.SIGTERM)
		case <-kill.C:
			// Recorded before the kill, so wait sees it.
			p.timedOut.Store(true)
			p.cmd.Process.Kill()
			return
		}
	}
}

// Pid returns the host pid of the namespace's PID 1.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Signal sends sig to PID 1 from outside its namespace. The kernel delivers
// it only if PID 1 has a handler for it, except SIGKILL and SIGSTOP.
func (p *Proc) Signal(sig syscall.Signal) error { return p.cmd.Process.Signal(sig) }

// WriteTTY writes b to the terminal's master side, as typed keys: "\x03" is
// Ctrl-C for the foreground process group.
func (p *Proc) WriteTTY(b []byte) error {
	if p.master == nil {
		return fmt.Errorf("harness: WriteTTY without Options.TTY")
	}
	_, err := p.master.Write(b)
	return err
}

// Output returns stdout and stderr received so far, interleaved.
func (p *Proc) Output() string {
	p.out.mu.Lock()
	defer p.out.mu.Unlock()
	return p.out.all.String()
}

// WaitOutput waits until the output contains substr, failing the test with
// the output so far if that takes longer than d or PID 1 exits without it.
func (p *Proc) WaitOutput(t testing.TB, substr string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		if strings.Contains(p.Output(), substr) {
			return
		}
		select {
		case <-p.done:
			// All output is in once done is closed.
			if strings.Contains(p.Output(), substr) {
				return
			}
			t.Fatalf("PID 1 exited without printing %q: %v", substr, p.res)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %q in the output:\n%s", d, substr, p.Output())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Wait waits for PID 1 to exit and returns how it ended; it may be called
// any number of times.
func (p *Proc) Wait() *Result {
	<-p.done
	return p.res
}

// output collects PID 1's streams; all interleaves them in arrival order.
type output struct {
	mu                  sync.Mutex
	stdout, stderr, all bytes.Buffer
}

// streamWriter appends to one stream of an output and to its interleaving.
type streamWriter struct {
	o      *output
	stream *bytes.Buffer
}

func (w streamWriter) Write(b []byte) (int, error) {
	w.o.mu.Lock()
	defer w.o.mu.Unlock()
	w.stream.Write(b)
	return w.o.all.Write(b)
}

// Package runstate is the one owner of what ignity's processes tell each
// other during a container's run: the stages (stage1, stage2, the CMD's
// waiter, s6-svscan's signal handlers, stage3) and any later process of
// the container that asks for a shutdown (a service's finish, a halt
// command). They are separate process images, so the state lives in
// files: in /run/ignity/.state, a directory stage1 creates fresh at each
// boot and that only /init's uid can write (see private.go for the rules
// every access follows).
//
// What it holds, and the rules the API enforces:
//
//   - the boot record (Boot), written once by stage1 before s6-svscan
//     runs: s6-svscan's pid, stage2's, and the parsed knobs. The plain
//     knobs are readable by every uid, so that every later process reads
//     the same configuration; the knobs that may hold a secret (a command
//     line: IGNITY_STAGE2_HOOK, IGNITY_CMD_ARG0, IGNITY_LOGGING_SCRIPT)
//     only by /init's uid;
//   - in the reserved record (record.go), whose bytes are allocated at
//     boot so that a full disk cannot lose them:
//   - the shutdown reason: the first request wins. Every request tells
//     s6-svscan to exec stage3 now (b on its control FIFO, what
//     s6-svscanctl -b writes), even when the record cannot be written: a
//     failure to record never keeps a stop from starting;
//   - the CMD's process group while it runs, and whether it got its stop
//     signal: whoever comes first of a request (early, so that the CMD,
//     which may take the longest, starts stopping at once), CmdStarted (a
//     CMD started during a shutdown) and stage3 sends it, once;
//   - the container's exit status, written once: the first of the CMD's
//     exit, a failed boot (and later writers) decides;
//   - the first terminating signal that reached /init before s6-svscan
//     was ready, replayed by stage2 as a shutdown request.
//
// Every write's error is returned: a lost state file is a container that
// stops with the wrong status, or does not stop.
package runstate

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ignity/ignity/pkg/config"
	"github.com/ignity/ignity/pkg/layout"
	"github.com/ignity/ignity/pkg/s6"
	"golang.org/x/sys/unix"
)

// Reasons recorded by ignity's own paths. A signal handler records the
// signal's name ("SIGTERM"); other requesters name themselves.
const (
	ReasonCmdExited  = "cmd exited"
	ReasonBootFailed = "boot failed"
	// ReasonSvscanExited is what stage3 records when nothing asked through
	// this package: SIGTERM (its handler only tells s6-svscan), a user's
	// s6-svscanctl, s6-svscan's crash path.
	ReasonSvscanExited = "SIGTERM or s6-svscan exited"
)

// State is the run state under one run directory.
type State struct {
	dir string
	// kill sends signals: unix.Kill, or a test's recorder.
	kill func(pid int, sig unix.Signal) error
}

// New is the state under dir (/run/ignity).
func New(dir string) State { return State{dir: dir, kill: unix.Kill} }

// WithKill is s with its signals sent through kill, for tests.
func (s State) WithKill(kill func(pid int, sig unix.Signal) error) State {
	s.kill = kill
	return s
}

func (s State) path(name string) string { return filepath.Join(s.dir, name) }

// svscanControl is s6-svscan's control FIFO: the scandir is
// services-state in the run directory (layout.Scandir).
func (s State) svscanControl() string {
	return s6.ScanControl(filepath.Join(s.dir, layout.ScandirName))
}

// Boot is what stage1 records for every later process.
type Boot struct {
	Svscan int      // s6-svscan's pid: stage1's own, kept across its exec
	Stage2 int      // stage2's pid, later the CMD's waiter's
	Knobs  []string // NAME=value, the knobs of the merged environment only
}

// PrivateKnobs are the knobs whose values may hold a secret: command
// lines. The boot record that every uid reads leaves them out.
var PrivateKnobs = []string{"IGNITY_STAGE2_HOOK", "IGNITY_CMD_ARG0", "IGNITY_LOGGING_SCRIPT"}

func private(kv string) bool {
	name, _, _ := strings.Cut(kv, "=")
	for _, p := range PrivateKnobs {
		if name == p {
			return true
		}
	}
	return false
}

// WriteBoot records b: the pids and the plain knobs readable by every
// uid, the PrivateKnobs by this uid only.
func (s State) WriteBoot(b Boot) error {
	var pub, priv bytes.Buffer
	fmt.Fprintf(&pub, "svscan=%d\nstage2=%d\n", b.Svscan, b.Stage2)
	for _, kv := range b.Knobs {
		if strings.ContainsRune(kv, '\n') {
			return fmt.Errorf("record the boot state: knob %q holds a newline", strings.SplitN(kv, "=", 2)[0])
		}
		if private(kv) {
			priv.WriteString(kv + "\n")
		} else {
			pub.WriteString(kv + "\n")
		}
	}
	if err := s.replace("", fileSecret, privateFile, priv.Bytes()); err != nil {
		return fmt.Errorf("record the boot state: %w", err)
	}
	if err := s.replace("", fileBoot, readableFile, pub.Bytes()); err != nil {
		return fmt.Errorf("record the boot state: %w", err)
	}
	return nil
}

// bootLimit bounds what ReadBoot reads of each file.
const bootLimit = 1 << 20

// ReadBoot reads what stage1 recorded: the private knobs too when this
// uid may read them.
func (s State) ReadBoot() (Boot, error) {
	name := filepath.Join(s.stateDir(), fileBoot)
	pub, err := s.readIn("", fileBoot, bootLimit)
	if err != nil {
		return Boot{}, fmt.Errorf("read the boot state: %w", err)
	}
	var b Boot
	sc := bufio.NewScanner(bytes.NewReader(pub))
	for n := 1; sc.Scan(); n++ {
		k, v, ok := strings.Cut(sc.Text(), "=")
		var err error
		switch {
		case !ok:
			err = errors.New("want NAME=value")
		case k == "svscan":
			b.Svscan, err = pid(v)
		case k == "stage2":
			b.Stage2, err = pid(v)
		default:
			b.Knobs = append(b.Knobs, sc.Text())
		}
		if err != nil {
			return Boot{}, fmt.Errorf("read the boot state: %s:%d: %w", name, n, err)
		}
	}
	if b.Svscan == 0 {
		return Boot{}, fmt.Errorf("read the boot state: %s: no svscan pid", name)
	}
	// Another uid cannot read the private knobs: it gets their defaults.
	if priv, err := s.readIn("", fileSecret, bootLimit); err == nil {
		for _, line := range strings.Split(strings.TrimSuffix(string(priv), "\n"), "\n") {
			if line != "" {
				b.Knobs = append(b.Knobs, line)
			}
		}
	}
	return b, nil
}

// Config is the configuration stage1 recorded: what every process after
// it reads its knobs from, whatever environment it was given.
func (s State) Config() (config.Config, error) {
	b, err := s.ReadBoot()
	if err != nil {
		return config.Default(), err
	}
	return config.Parse(b.Knobs)
}

// RequestShutdown asks for the container to stop, for reason: the one way
// ignity's own code starts a shutdown, from any process of the container.
// The first request's reason is recorded; later ones change nothing
// there. Every request tells s6-svscan to exec stage3 now: b on its
// control FIFO (a FIFO write needs no disk space), whether or not the
// record could be written. Once s6-svscan has exec'd stage3, nobody reads
// the FIFO, and a later request's b is dropped. The CMD's group, when it
// runs and has not got its stop signal yet, gets it now: it may take the
// longest to exit.
func (s State) RequestShutdown(reason string) error {
	if g, ok := s.CmdGroup(); ok {
		awaitExec(g)
	}
	first := true
	var pgid int
	var sig unix.Signal
	recErr := s.update(func(r *record) {
		if r.reason != "" {
			first = false
		} else {
			r.reason = reason
		}
		pgid, sig = takeCmdStop(r)
	})
	var errs []error
	if recErr != nil {
		errs = append(errs, fmt.Errorf("request a shutdown (%s): record it: %w", reason, recErr))
	}
	if err := s6.Send(s.svscanControl(), "b"); err != nil && first {
		errs = append(errs, fmt.Errorf("request a shutdown (%s): tell s6-svscan: %w", reason, err))
	}
	if pgid != 0 {
		errs = append(errs, s.sendStop(pgid, sig))
	}
	return errors.Join(errs...)
}

// takeCmdStop takes the once-flag of the CMD's stop signal: the group to
// signal and the signal, or 0 when no CMD runs or it was signalled already.
func takeCmdStop(r *record) (int, unix.Signal) {
	if r.cmd == 0 || r.stopped {
		return 0, 0
	}
	r.stopped = true
	return r.cmd, stopSignal(*r)
}

// Stopping reports whether a shutdown was requested, and why. SIGTERM's
// handler records nothing (it is no Go process: it only tells s6-svscan),
// so a control FIFO that s6-svscan made and no longer reads counts too:
// s6-svscan has exec'd stage3, which records its reason at once.
//
// Only once s6-svscan was ready: it makes its FIFO before it opens it,
// and in between the FIFO has no reader either. Before, use Requested.
func (s State) Stopping() (reason string, ok bool) {
	if reason, ok := s.Requested(); ok {
		return reason, true
	}
	if s.svscanGone() {
		return ReasonSvscanExited, true
	}
	return "", false
}

// Requested reports whether a shutdown was recorded (RequestShutdown,
// ShutdownBegins), and why: what can be known before s6-svscan is ready.
func (s State) Requested() (reason string, ok bool) {
	if r, err := s.load(); err == nil && r.reason != "" {
		return r.reason, true
	}
	return "", false
}

// svscanGone reports whether s6-svscan's control FIFO exists and has no
// reader: s6-svscan made it at its start and read it until it exec'd its
// finish. Before s6-svscan runs, the FIFO does not exist.
func (s State) svscanGone() bool {
	fd, err := unix.Open(s.svscanControl(), unix.O_WRONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err == nil {
		unix.Close(fd)
	}
	return err == unix.ENXIO
}

// ShutdownBegins is stage3's first step: it records ReasonSvscanExited
// when nothing was asked through RequestShutdown (SIGTERM's handler, a
// user's s6-svscanctl, s6-svscan's crash path), then returns the reason.
// Recording before looking for the CMD's group is what lets CmdStarted
// stop a CMD that stage3 would not see.
func (s State) ShutdownBegins() (string, error) {
	reason := ReasonSvscanExited
	err := s.update(func(r *record) {
		if r.reason == "" {
			r.reason = ReasonSvscanExited
		}
		reason = r.reason
	})
	if err != nil {
		return reason, fmt.Errorf("record the shutdown: %w", err)
	}
	return reason, nil
}

// CmdStarted records the CMD's process group. When a shutdown was
// requested meanwhile, the requester may have looked for the group before
// it was recorded: the CMD is stopped here.
func (s State) CmdStarted(pgid int) error {
	stop, sig := 0, unix.Signal(0)
	err := s.update(func(r *record) {
		r.cmd, r.since, r.stopped = pgid, time.Now().UnixMilli(), false
		if r.reason != "" {
			stop, sig = takeCmdStop(r)
		}
	})
	if err != nil {
		return fmt.Errorf("record the CMD's process group: %w", err)
	}
	if stop != 0 {
		return s.sendStop(stop, sig)
	}
	return nil
}

// awaitExec waits, a second at the most, while the CMD's group leader
// pgid is still cmd-start, this binary before it execs the CMD: a signal
// sent to it then may be lost (see CmdStopSent), so the stop signal is
// sent once the CMD runs. Where /proc cannot tell, it does not wait.
func awaitExec(pgid int) {
	self, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return
	}
	leader := "/proc/" + strconv.Itoa(pgid) + "/exe"
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); {
		if exe, err := os.Readlink(leader); err != nil || exe != self {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// CmdStopSent reports whether the CMD's group got its stop signal: the
// once-flag was taken. cmd-start asks it just before it execs the CMD: a
// stop signal sent to its group before then reached cmd-start, whose Go
// runtime may handle it on another thread that the exec ends, losing it.
func (s State) CmdStopSent() bool {
	r, err := s.load()
	return err == nil && r.cmd != 0 && r.stopped
}

// CmdGroup is the CMD's process group while it runs.
func (s State) CmdGroup() (int, bool) {
	r, err := s.load()
	if err != nil || r.cmd <= 0 {
		return 0, false
	}
	return r.cmd, true
}

// StopCmd sends the CMD's group its stop signal, then SIGCONT should it
// be stopped, when a CMD runs and has not got it yet: the once-flag of
// the record makes this the one stop signal it gets, whoever asks first.
func (s State) StopCmd() error {
	if g, ok := s.CmdGroup(); ok {
		awaitExec(g)
	}
	pgid, sig := 0, unix.Signal(0)
	if err := s.update(func(r *record) { pgid, sig = takeCmdStop(r) }); err != nil {
		return fmt.Errorf("stop the CMD: %w", err)
	}
	if pgid == 0 {
		return nil
	}
	return s.sendStop(pgid, sig)
}

// sendStop sends the group pgid the CMD's stop signal sig (see
// takeCmdStop), whatever signal started the shutdown, then SIGCONT.
func (s State) sendStop(pgid int, sig unix.Signal) error {
	return errors.Join(s.SignalCmd(pgid, sig), s.SignalCmd(pgid, unix.SIGCONT))
}

// CmdStopSignal is the CMD's stop signal as /init recorded it (Create);
// SIGTERM,
// the default, when none was or the record cannot be read.
func (s State) CmdStopSignal() unix.Signal {
	r, err := s.load()
	if err != nil {
		return unix.SIGTERM
	}
	return stopSignal(r)
}

func stopSignal(r record) unix.Signal {
	if r.stopsig <= 0 {
		return unix.SIGTERM
	}
	return unix.Signal(r.stopsig)
}

// SignalCmd sends sig to the CMD's process group pgid. A group already
// gone is no error.
func (s State) SignalCmd(pgid int, sig unix.Signal) error {
	if err := s.kill(-pgid, sig); err != nil && !errors.Is(err, unix.ESRCH) {
		return fmt.Errorf("send %s to the CMD's group %d: %w", unix.SignalName(sig), pgid, err)
	}
	return nil
}

// CmdExited records the CMD's exit status as the container's (unless one
// was recorded first), forgets its group, and requests the shutdown, in
// that order: stage3 reads a status before it looks for a group.
func (s State) CmdExited(status int) error {
	err := s.update(func(r *record) {
		if r.exit < 0 {
			r.exit = status
		}
		r.cmd = 0
	})
	if err != nil {
		err = fmt.Errorf("record the exit status %d: %w", status, err)
	}
	return errors.Join(err, s.RequestShutdown(ReasonCmdExited))
}

// BootFailed records status as the container's exit status (unless one
// was recorded first) and requests the shutdown, so that finalize scripts
// still run.
func (s State) BootFailed(status int) error {
	_, err := s.SetExitStatus(status)
	return errors.Join(err, s.RequestShutdown(ReasonBootFailed))
}

// SetExitStatus records the container's exit status unless one was
// recorded first, and reports whether this one was.
func (s State) SetExitStatus(status int) (bool, error) {
	first := false
	err := s.update(func(r *record) {
		if r.exit < 0 {
			r.exit, first = status, true
		}
	})
	if err != nil {
		return false, fmt.Errorf("record the exit status %d: %w", status, err)
	}
	return first, nil
}

// ExitStatus is the recorded exit status.
func (s State) ExitStatus() (int, bool) {
	r, err := s.load()
	if err != nil || r.exit < 0 {
		return 0, false
	}
	return r.exit, true
}

// Outcome is the container's exit status at the end of stage3: the one
// recorded; else the number in s6-overlay's exit code file (a finish wrote
// it before an s6-svscanctl -t); else 137 when a CMD was running at the
// shutdown (cmdRan) and never recorded one, since it was killed with
// everything else; else 0.
func (s State) Outcome(cmdRan bool) int {
	if n, ok := s.ExitStatus(); ok {
		return n
	}
	if n, ok, _ := s.Exitcode(); ok {
		return n
	}
	if _, ok := s.CmdGroup(); ok && cmdRan {
		return 128 + int(unix.SIGKILL)
	}
	return 0
}

// SetEarlySignal records sig, a terminating signal /init caught before
// s6-svscan was ready, unless one was recorded first.
func (s State) SetEarlySignal(sig unix.Signal) error {
	err := s.update(func(r *record) {
		if r.early == "" {
			r.early = unix.SignalName(sig)
		}
	})
	if err != nil {
		return fmt.Errorf("record the early %s: %w", unix.SignalName(sig), err)
	}
	return nil
}

// EarlySignal is the name of the terminating signal /init caught before
// s6-svscan was ready ("SIGTERM"), if any.
func (s State) EarlySignal() (string, bool) {
	r, err := s.load()
	if err != nil || r.early == "" {
		return "", false
	}
	return r.early, true
}

// read reads sub/name of the private state directory, trimmed.
func (s State) read(sub, name string) (string, bool) {
	b, err := s.readIn(sub, name, bootLimit)
	if err != nil {
		return "", false
	}
	return strings.TrimSpace(string(b)), true
}

func pid(v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("want a pid, got %q", v)
	}
	return n, nil
}

// CmdSince is when the CMD's group was recorded: its start, to within the
// few microseconds between its spawn and CmdStarted.
func (s State) CmdSince() (time.Time, bool) {
	r, err := s.load()
	if err != nil || r.cmd <= 0 {
		return time.Time{}, false
	}
	return millis(r.since)
}

// Services' restart history, kept by each service's finish (a transient
// process per death) in restarts/NAME of the private state directory, and
// the permanent failures, one file per failed service in failed/NAME
// holding why. Both are readable by every uid: ignity status and ignity
// health read them.

// Restarts is what ignity keeps of one service's deaths.
type Restarts struct {
	Deaths int         // every death of run since the boot
	Short  int         // consecutive runs shorter than IGNITY_RESTART_RESET
	Delay  int64       // ms the last restart waited beyond s6's own 1 s; 0 = none
	Start  time.Time   // when the current (or last) run started, estimated
	Spawn  time.Time   // when s6-supervise last spawned run, estimated
	Until  time.Time   // the end of the current backoff wait; zero = none
	Recent []time.Time // death times within the crash-loop window, oldest first
}

// Restarts reads the restart history of the service name; a service that
// never died has none (ok false).
func (s State) Restarts(name string) (Restarts, bool, error) {
	p := filepath.Join(s.stateDir(), dirRestarts, name)
	b, err := s.readIn(dirRestarts, name, bootLimit)
	if errors.Is(err, os.ErrNotExist) {
		return Restarts{}, false, nil
	}
	if err != nil {
		return Restarts{}, false, fmt.Errorf("read the restarts of %s: %w", name, err)
	}
	var r Restarts
	for n, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		k, v, ok := strings.Cut(line, "=")
		var err error
		switch {
		case !ok:
			err = errors.New("want NAME=value")
		case k == "deaths":
			r.Deaths, err = strconv.Atoi(v)
		case k == "short":
			r.Short, err = strconv.Atoi(v)
		case k == "delay":
			r.Delay, err = strconv.ParseInt(v, 10, 64)
		case k == "start":
			r.Start, err = millisTime(v)
		case k == "spawn":
			r.Spawn, err = millisTime(v)
		case k == "until":
			r.Until, err = millisTime(v)
		case k == "recent":
			for _, f := range strings.FieldsFunc(v, func(c rune) bool { return c == ',' }) {
				t, e := millisTime(f)
				if e != nil {
					err = e
					break
				}
				r.Recent = append(r.Recent, t)
			}
		}
		if err != nil {
			return Restarts{}, false, fmt.Errorf("read the restarts of %s: %s:%d: %w", name, p, n+1, err)
		}
	}
	return r, true, nil
}

// SetRestarts records r as the restart history of the service name,
// replacing the last one at once (a rename): the run wrapper and ignity
// status never read half a record.
func (s State) SetRestarts(name string, r Restarts) error {
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "deaths=%d\nshort=%d\ndelay=%d\nstart=%d\nspawn=%d\nuntil=%d\nrecent=", r.Deaths, r.Short, r.Delay, unixMillis(r.Start), unixMillis(r.Spawn), unixMillis(r.Until))
	for i, t := range r.Recent {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.WriteString(strconv.FormatInt(unixMillis(t), 10))
	}
	buf.WriteByte('\n')
	if err := s.replace(dirRestarts, name, readableFile, buf.Bytes()); err != nil {
		return fmt.Errorf("record the restarts of %s: %w", name, err)
	}
	return nil
}

// MarkFailed records that the service name failed for good (its crash
// loop passed the limit), and why, for ignity status and health. s6 knows
// it too: the service's finish exits 125, its permanent failure.
func (s State) MarkFailed(name, why string) error {
	if err := s.replace(dirFailed, name, readableFile, []byte(why+"\n")); err != nil {
		return fmt.Errorf("record the failure of %s: %w", name, err)
	}
	return nil
}

// Failed reports whether the service name was marked failed, and why.
func (s State) Failed(name string) (string, bool) {
	return s.read(dirFailed, name)
}

// ClearFailed forgets the failure of the service name: started again by
// hand (s6-svc -u), it gets a fresh start.
func (s State) ClearFailed(name string) error {
	if err := s.remove(dirFailed, name); err != nil {
		return fmt.Errorf("forget the failure of %s: %w", name, err)
	}
	return nil
}

func unixMillis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func millisTime(v string) (time.Time, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return time.Time{}, fmt.Errorf("want a time in ms since the epoch, got %q", v)
	}
	if n == 0 {
		return time.Time{}, nil
	}
	return time.UnixMilli(n), nil
}

// Package runstate is the one owner of what ignity's processes tell each
// other during a container's run: the stages (stage1, stage2, the CMD's
// waiter, s6-svscan's signal handlers, stage3) and any later process of
// the container that asks for a shutdown (a service's finish, a halt
// command). They are separate process images, so the state lives in files
// of the run directory (/run/ignity), hidden ones, since a directory for
// them would be one more inode to create at every boot.
//
// What it holds, and the rules the API enforces:
//
//   - the boot record (Boot), written once by stage1 before s6-svscan
//     runs: s6-svscan's pid, stage2's, and the parsed knobs. It is
//     world-readable and holds nothing else of the environment, so that
//     every later process, whatever its uid, reads the same configuration;
//   - the shutdown reason: the first request wins, and only the first
//     signals s6-svscan (SIGABRT: exec stage3 now);
//   - the CMD's process group while it runs. A request records its reason
//     before it looks for the group, and CmdStarted records the group
//     before it looks for a reason: whichever comes second stops the CMD,
//     so a CMD started during a shutdown never escapes it;
//   - the container's exit status, written once: the first of the CMD's
//     exit, a failed boot (and later writers) decides;
//   - the first terminating signal that reached /init before s6-svscan
//     was ready, replayed by stage2 as a shutdown request;
//   - the log prefixer's pid, when IGNITY_LOG_PREFIX=1 started one.
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
	"golang.org/x/sys/unix"
)

// The state files, hidden in the run directory.
const (
	fileBoot   = ".boot"         // Boot: pids and knobs, written by stage1
	fileReason = ".shutdown"     // why the container stops; first writer wins
	fileCmd    = ".cmd-pgid"     // the CMD's process group while it runs
	fileExit   = ".exit-status"  // the container's exit status; first writer wins
	fileEarly  = ".early-signal" // a terminating signal caught before s6-svscan was ready
	filePrefix = ".prefixer-pid" // the log prefixer's pid (IGNITY_LOG_PREFIX=1)
)

// Reasons recorded by ignity's own paths. A signal handler records the
// signal's name ("SIGTERM"); other requesters name themselves.
const (
	ReasonCmdExited  = "cmd exited"
	ReasonBootFailed = "boot failed"
	// ReasonSvscanExited is what stage3 records when nothing asked through
	// this package: a user's s6-svscanctl -t, or s6-svscan's crash path.
	ReasonSvscanExited = "s6-svscan exited"
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

// Boot is what stage1 records for every later process.
type Boot struct {
	Svscan int      // s6-svscan's pid: stage1's own, kept across its exec
	Stage2 int      // stage2's pid, later the CMD's waiter's
	Knobs  []string // NAME=value, the knobs of the merged environment only
}

// WriteBoot records b, readable by every uid (it holds no secret: knobs
// only, see config.Knobs).
func (s State) WriteBoot(b Boot) error {
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "svscan=%d\nstage2=%d\n", b.Svscan, b.Stage2)
	for _, kv := range b.Knobs {
		if strings.ContainsRune(kv, '\n') {
			return fmt.Errorf("record the boot state: knob %q holds a newline", strings.SplitN(kv, "=", 2)[0])
		}
		buf.WriteString(kv + "\n")
	}
	if err := os.WriteFile(s.path(fileBoot), buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("record the boot state: %w", err)
	}
	// WriteFile's mode is masked by the umask; the record must be readable
	// by every uid.
	if err := os.Chmod(s.path(fileBoot), 0o644); err != nil {
		return fmt.Errorf("record the boot state: %w", err)
	}
	return nil
}

// ReadBoot reads what stage1 recorded.
func (s State) ReadBoot() (Boot, error) {
	f, err := os.Open(s.path(fileBoot))
	if err != nil {
		return Boot{}, fmt.Errorf("read the boot state: %w", err)
	}
	defer f.Close()
	var b Boot
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		name, v, ok := strings.Cut(sc.Text(), "=")
		var err error
		switch {
		case !ok:
			err = errors.New("want NAME=value")
		case name == "svscan":
			b.Svscan, err = pid(v)
		case name == "stage2":
			b.Stage2, err = pid(v)
		default:
			b.Knobs = append(b.Knobs, sc.Text())
		}
		if err != nil {
			return Boot{}, fmt.Errorf("read the boot state: %s:%d: %w", f.Name(), n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return Boot{}, fmt.Errorf("read the boot state: %w", err)
	}
	if b.Svscan == 0 {
		return Boot{}, fmt.Errorf("read the boot state: %s: no svscan pid", f.Name())
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
// The first request records its reason and makes s6-svscan exec stage3 at
// once (SIGABRT, to the pid stage1 recorded); later ones change nothing.
// Only the first signals: a second SIGABRT could reach stage3 while its
// Go runtime starts, before its handlers are set, and Go's default for
// SIGABRT is to crash. Either way the CMD's group, when it runs, gets its
// stop signal now (StopCmd): it may take the longest to exit.
func (s State) RequestShutdown(reason string) error {
	first, err := s.writeOnce(fileReason, reason)
	if err != nil {
		return fmt.Errorf("request a shutdown (%s): %w", reason, err)
	}
	errs := []error{s.StopCmd()}
	if first {
		b, err := s.ReadBoot()
		if err == nil {
			err = s.kill(b.Svscan, unix.SIGABRT)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("request a shutdown (%s): signal s6-svscan: %w", reason, err))
		}
	}
	return errors.Join(errs...)
}

// Stopping reports whether a shutdown was requested, and why.
func (s State) Stopping() (reason string, ok bool) {
	return s.read(fileReason)
}

// ShutdownBegins is stage3's first step: it records ReasonSvscanExited
// when nothing was asked through RequestShutdown (a user's s6-svscanctl
// -t, s6-svscan's crash path), then returns the reason. Recording before
// looking for the CMD's group is what lets CmdStarted stop a CMD that
// stage3 would not see.
func (s State) ShutdownBegins() (string, error) {
	if _, err := s.writeOnce(fileReason, ReasonSvscanExited); err != nil {
		return ReasonSvscanExited, fmt.Errorf("record the shutdown: %w", err)
	}
	reason, _ := s.read(fileReason)
	return reason, nil
}

// CmdStarted records the CMD's process group. When a shutdown was
// requested meanwhile, the requester may have looked for the group before
// it was recorded: the CMD is stopped here.
func (s State) CmdStarted(pgid int) error {
	if err := os.WriteFile(s.path(fileCmd), []byte(strconv.Itoa(pgid)+"\n"), 0o644); err != nil {
		return fmt.Errorf("record the CMD's process group: %w", err)
	}
	if _, stopping := s.Stopping(); stopping {
		return s.StopCmd()
	}
	return nil
}

// CmdGroup is the CMD's process group while it runs.
func (s State) CmdGroup() (int, bool) {
	v, ok := s.read(fileCmd)
	if !ok {
		return 0, false
	}
	n, err := pid(v)
	return n, err == nil
}

// StopCmd sends the CMD's group its stop signal, then SIGCONT should it
// be stopped, when a CMD runs. The stop signal is IGNITY_CMD_STOP_SIGNAL
// as stage1 recorded it (SIGTERM by default, and when the record cannot
// be read), whatever signal started the shutdown: this is the one place
// the CMD is told to stop.
func (s State) StopCmd() error {
	pgid, ok := s.CmdGroup()
	if !ok {
		return nil
	}
	sig := unix.SIGTERM
	if cfg, err := s.Config(); err == nil && cfg.CmdStopSignal != 0 {
		sig = cfg.CmdStopSignal
	}
	return errors.Join(s.SignalCmd(pgid, sig), s.SignalCmd(pgid, unix.SIGCONT))
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
	_, err := s.SetExitStatus(status)
	if rm := os.Remove(s.path(fileCmd)); rm != nil && !errors.Is(rm, os.ErrNotExist) {
		err = errors.Join(err, fmt.Errorf("forget the CMD's process group: %w", rm))
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
	first, err := s.writeOnce(fileExit, strconv.Itoa(status))
	if err != nil {
		return false, fmt.Errorf("record the exit status %d: %w", status, err)
	}
	return first, nil
}

// ExitStatus is the recorded exit status.
func (s State) ExitStatus() (int, bool) {
	v, ok := s.read(fileExit)
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(v)
	return n, err == nil
}

// Outcome is the container's exit status at the end of stage3: the one
// recorded; else the number in s6-overlay's exit code file (a finish wrote
// it before an s6-svscanctl -t); else 137 when a CMD was running at the shutdown (cmdRan) and
// never recorded one, since it was killed with everything else; else 0.
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

// PrefixerStarted records the pid of the log prefixer, the one process
// that prefixes the services' output (IGNITY_LOG_PREFIX=1), for stage3
// to stop it after the services.
func (s State) PrefixerStarted(pid int) error {
	if err := os.WriteFile(s.path(filePrefix), []byte(strconv.Itoa(pid)+"\n"), 0o644); err != nil {
		return fmt.Errorf("record the log prefixer's pid: %w", err)
	}
	return nil
}

// Prefixer is the log prefixer's pid, when one was started.
func (s State) Prefixer() (int, bool) {
	v, ok := s.read(filePrefix)
	if !ok {
		return 0, false
	}
	n, err := pid(v)
	return n, err == nil
}

// SetEarlySignal records sig, a terminating signal /init caught before
// s6-svscan was ready, unless one was recorded first.
func (s State) SetEarlySignal(sig unix.Signal) error {
	if _, err := s.writeOnce(fileEarly, unix.SignalName(sig)); err != nil {
		return fmt.Errorf("record the early %s: %w", unix.SignalName(sig), err)
	}
	return nil
}

// EarlySignal is the name of the terminating signal /init caught before
// s6-svscan was ready ("SIGTERM"), if any.
func (s State) EarlySignal() (string, bool) { return s.read(fileEarly) }

// writeOnce creates name with value unless it exists, and reports whether
// it did: the first writer wins.
func (s State) writeOnce(name, value string) (bool, error) {
	f, err := os.OpenFile(s.path(name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, os.ErrExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	_, err = f.WriteString(value + "\n")
	return true, errors.Join(err, f.Close())
}

func (s State) read(name string) (string, bool) {
	b, err := os.ReadFile(s.path(name))
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
	st, err := os.Stat(s.path(fileCmd))
	if err != nil {
		return time.Time{}, false
	}
	return st.ModTime(), true
}

// Services' restart history, kept by each service's finish (a transient
// process per death) in .restarts/NAME, and the permanent failures, one
// file per failed service in .failed/NAME holding why. Both are readable
// by every uid: ignity status and ignity health read them.
const (
	dirRestarts = ".restarts"
	dirFailed   = ".failed"
)

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
	p := filepath.Join(s.dir, dirRestarts, name)
	b, err := os.ReadFile(p)
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
	if err := s.replace(dirRestarts, name, buf.Bytes()); err != nil {
		return fmt.Errorf("record the restarts of %s: %w", name, err)
	}
	return nil
}

// MarkFailed records that the service name failed for good (its crash
// loop passed the limit), and why, for ignity status and health. s6 knows
// it too: the service's finish exits 125, its permanent failure.
func (s State) MarkFailed(name, why string) error {
	if err := s.replace(dirFailed, name, []byte(why+"\n")); err != nil {
		return fmt.Errorf("record the failure of %s: %w", name, err)
	}
	return nil
}

// Failed reports whether the service name was marked failed, and why.
func (s State) Failed(name string) (string, bool) {
	return s.read(filepath.Join(dirFailed, name))
}

// ClearFailed forgets the failure of the service name: started again by
// hand (s6-svc -u), it gets a fresh start.
func (s State) ClearFailed(name string) error {
	if err := os.Remove(filepath.Join(s.dir, dirFailed, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("forget the failure of %s: %w", name, err)
	}
	return nil
}

// replace writes b as dir/name under the run directory, readable by
// every uid, through a rename.
func (s State) replace(dir, name string, b []byte) error {
	d := filepath.Join(s.dir, dir)
	if err := os.MkdirAll(d, 0o755); err != nil {
		return err
	}
	tmp := filepath.Join(d, "."+name+".new")
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(d, name))
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

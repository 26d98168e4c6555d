package applets

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ignity/ignity/pkg/layout"
	"github.com/ignity/ignity/pkg/runstate"
	"github.com/ignity/ignity/pkg/s6"
	"github.com/ignity/ignity/pkg/services"
	"golang.org/x/sys/unix"
)

// StatusVersion is the version of `ignity status --json`'s schema. Later
// versions only add fields.
const StatusVersion = 1

// Report is `ignity status --json`.
type Report struct {
	Version  int     `json:"version"`
	Services []Entry `json:"services"`
	Cmd      *Entry  `json:"cmd"` // null when no CMD runs
}

// Entry is one service, or the CMD.
type Entry struct {
	Name     string `json:"name"`
	State    string `json:"state"` // up, ready, down, finishing, backoff, failed
	Pid      int    `json:"pid"`   // 0 when down
	UptimeMs int64  `json:"uptime_ms"`
	// Restarts counts the deaths of run that s6 keeps (supervise/death_tally):
	// capped at max-death-tally (default 100, at most 4096).
	Restarts  int       `json:"restarts"`
	LastExit  *LastExit `json:"last_exit"` // null when it never exited
	WantedUp  bool      `json:"wanted_up"`
	Essential bool      `json:"essential"`
	Notify    bool      `json:"notify"` // has notification-fd: "ready" is meaningful
	Health    bool      `json:"health"` // has a health program
	// Added in schema 1, with the dependency engine (README "Dependencies").
	Type         string   `json:"type"`         // longrun or oneshot
	Dependencies []string `json:"dependencies"` // what it starts after
	WaitingFor   []string `json:"waiting_for"`  // those of them not started yet, while it waits
}

// LastExit is how the last run ended: code, or signal (code -1).
type LastExit struct {
	Code   int `json:"code"`
	Signal int `json:"signal"`
}

func (e *LastExit) String() string {
	if e == nil {
		return "-"
	}
	if e.Signal != 0 {
		return "SIG" + strings.TrimPrefix(unix.SignalName(unix.Signal(e.Signal)), "SIG")
	}
	return strconv.Itoa(e.Code)
}

// Status is `ignity status [--json]`.
func Status(l layout.Layout, args []string, w io.Writer) error {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return UsageError(err.Error())
	}
	if fs.NArg() > 0 {
		return UsageError("unexpected argument " + fs.Arg(0))
	}
	r, err := Collect(l, time.Now())
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(w)
		return enc.Encode(r)
	}
	lines := r.Services
	if r.Cmd != nil {
		lines = append(lines, *r.Cmd)
	}
	// The name column is as wide as the longest name, 20 at least: the
	// other columns then start at one offset on every row.
	width := 20
	for _, e := range lines {
		width = max(width, len(e.Name))
	}
	fmt.Fprintf(w, "%-*s %-9s %7s %10s %8s %6s %5s %-9s %s\n", width, "NAME", "STATE", "PID", "UPTIME", "RESTARTS", "EXIT", "WANT", "ESSENTIAL", "WAITS FOR")
	for _, e := range lines {
		waits := strings.Join(e.WaitingFor, ",")
		if waits == "" {
			waits = "-"
		}
		fmt.Fprintf(w, "%-*s %-9s %7d %9.1fs %8d %6s %5s %-9s %s\n", width, e.Name, e.State, e.Pid,
			float64(e.UptimeMs)/1000, e.Restarts, e.LastExit.String(), yesNo(e.WantedUp), yesNo(e.Essential), waits)
	}
	return nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// Collect reads the state of every service of the scandir, and of the CMD.
func Collect(l layout.Layout, now time.Time) (Report, error) {
	r := Report{Version: StatusVersion, Services: []Entry{}}
	list, err := s6.List(l.Scandir())
	if err != nil {
		return r, fmt.Errorf("read the services of %s: %w", l.Scandir(), err)
	}
	rs := runstate.New(l.Run())
	plan, _, err := rs.Plan()
	if err != nil {
		return r, err
	}
	live := map[string]bool{}
	for _, s := range list {
		u, _ := plan.Get(s.Name)
		c := rs.Condition(s.Name, s.Dir, now)
		e := entry(c, s, now)
		e.Dependencies = u.Deps
		live[s.Name] = true
		r.Services = append(r.Services, withDeps(rs, e, c.Unit))
	}
	// The units not in the scandir: dependents still held, and oneshots.
	// Without an ordered start, there are none: every unit is a longrun,
	// in the scandir once the boot got that far.
	for _, u := range plan.Units {
		if live[u.Name] || !plan.HasDeps() {
			continue
		}
		c := rs.Condition(u.Name, "", now)
		e := Entry{Name: u.Name, State: c.Word(u.Type, u.Notify), Type: string(u.Type), Notify: u.Notify, Dependencies: u.Deps}
		r.Services = append(r.Services, withDeps(rs, e, c.Unit))
	}
	sort.Slice(r.Services, func(i, j int) bool { return r.Services[i].Name < r.Services[j].Name })
	r.Cmd = cmdEntry(rs, now)
	return r, nil
}

// withDeps fills in e's dependency fields: what it waits for, while the
// ordered start holds it (unit), are its dependencies the ordered start
// has not started yet.
func withDeps(rs runstate.State, e Entry, unit runstate.UnitState) Entry {
	if e.Type == "" {
		e.Type = "longrun"
	}
	if e.Dependencies == nil {
		e.Dependencies = []string{}
	}
	e.WaitingFor = []string{}
	if unit != runstate.UnitWaiting {
		return e
	}
	for _, d := range e.Dependencies {
		if st, _, _ := rs.UnitOf(d); st != runstate.UnitStarted {
			e.WaitingFor = append(e.WaitingFor, d)
		}
	}
	return e
}

// entry is the service s of the scandir, in condition c.
func entry(c runstate.Condition, s s6.ServiceDir, now time.Time) Entry {
	e := Entry{
		Name:      s.Name,
		State:     c.Word(services.Longrun, s.Notify),
		Notify:    s.Notify,
		Essential: exists(filepath.Join(s.Dir, "essential")),
		Health:    executable(filepath.Join(s.Dir, "health")),
		Restarts:  c.Restarts,
	}
	if !c.Supervised() {
		return e
	}
	st := c.Status
	e.WantedUp = st.WantUp
	if !st.Since.IsZero() {
		e.UptimeMs = max(now.Sub(st.Since).Milliseconds(), 0)
	}
	if e.Restarts > 0 {
		code, sig := st.Exit()
		e.LastExit = &LastExit{Code: code, Signal: sig}
	}
	if st.Up() {
		e.Pid = st.Pid
	} else {
		e.UptimeMs = 0
	}
	return e
}

// cmdEntry is the CMD while it runs, nil otherwise.
func cmdEntry(rs runstate.State, now time.Time) *Entry {
	pgid, ok := rs.CmdGroup()
	if !ok {
		return nil
	}
	e := &Entry{Name: "CMD", State: "up", Pid: pgid, WantedUp: true, Essential: true, Type: "cmd", Dependencies: []string{}, WaitingFor: []string{}}
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pgid)); err == nil && len(b) > 0 {
		e.Name = "CMD " + filepath.Base(strings.SplitN(string(b), "\x00", 2)[0])
	}
	if err := unix.Kill(pgid, 0); err == unix.ESRCH {
		e.State, e.Pid = "down", 0
	}
	if since, ok := rs.CmdSince(); ok && e.State == "up" {
		e.UptimeMs = max(now.Sub(since).Milliseconds(), 0)
	}
	return e
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

func executable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o111 != 0
}

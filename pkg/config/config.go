// Package config reads ignity's knobs (IGNITY_*, USER, USERMAP_UID,
// USERMAP_GID) from an environment and validates them. Every bad value is
// reported by the variable's name; nothing is silently replaced.
package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Config holds the knobs. Durations of 0 keep the original ignity's
// meaning: a *_MAXTIME of 0 is no limit, a *_GRACETIME of 0 is no grace.
type Config struct {
	CmdWaitForServices bool
	CmdWaitMax         time.Duration // IGNITY_CMD_WAIT_FOR_SERVICES_MAXTIME
	FinalizeMax        time.Duration // IGNITY_KILL_FINALIZE_MAXTIME, per script
	KillGrace          time.Duration // IGNITY_KILL_GRACETIME
	ServicesGrace      time.Duration // IGNITY_SERVICES_GRACETIME
	SkipPerms          bool
	SyncDisks          bool
	Verbosity          int           // 0 silent, 1 the [supervisor/...] lines, 2 debug
	ContinueOnFailure  bool          // IGNITY_BEHAVIOUR_IF_STAGE2_FAILS 0 or 1 (2, the default, stops)
	InitMax            time.Duration // IGNITY_INIT_MAXTIME, per init script
	HealthTimeout      time.Duration // IGNITY_HEALTH_TIMEOUT, per health program; 0 = no limit
	ReadyMax           time.Duration // IGNITY_SERVICES_READY_MAXTIME: a dependency's bound without timeout-up; 0 = no limit

	// Services' restarts (see the README's "Restarts" section).
	LeftoverGrace time.Duration // IGNITY_SERVICE_LEFTOVER_GRACE: TERM to KILL of a dead run's group
	BackoffAfter  int           // IGNITY_RESTART_BACKOFF_AFTER: short runs before the backoff starts
	RestartReset  time.Duration // IGNITY_RESTART_RESET: a run this long resets the backoff
	BackoffMax    time.Duration // IGNITY_RESTART_BACKOFF_MAX: the longest wait; 0 = no backoff
	MaxDeaths     int           // IGNITY_SERVICE_MAX_DEATHS: crash-loop limit; 0 = none
	DeathsWindow  time.Duration // IGNITY_SERVICE_DEATHS_WINDOW, whole seconds

	LogPrefix     bool        // IGNITY_LOG_PREFIX: prefix unlogged services' lines with their name
	LoggingScript []string    // IGNITY_LOGGING_SCRIPT: s6-log's directives for logutil-service
	CmdStopSignal unix.Signal // IGNITY_CMD_STOP_SIGNAL: what the CMD gets at shutdown
	// IGNITY_CMD_RECEIVE_SIGNALS: SIGINT and SIGQUIT to PID 1 go to the
	// CMD while it runs (1), or start the shutdown (0).
	CmdReceiveSignals bool

	// s6-overlay's features (see s6.go and the README's migration table).
	KeepEnv        bool     // IGNITY_KEEP_ENV (S6_KEEP_ENV): services get the merged environment
	CmdArg0        []string // IGNITY_CMD_ARG0 (S6_CMD_ARG0): words put before the CMD
	BundleDir      string   // IGNITY_RUNTIME_BUNDLEDIR (S6_RUNTIME_BUNDLEDIR): more user/user2 bundle members, in DIR/BUNDLE/contents.d
	Stage2Hook     string   // IGNITY_STAGE2_HOOK (S6_STAGE2_HOOK): sh -c'd first in stage2
	FixAttrsHidden bool     // IGNITY_FIX_ATTRS_HIDDEN (S6_FIX_ATTRS_HIDDEN): fix-attrs.d touches dot files

	User string // account created for USERMAP_UID/USERMAP_GID
	UID  int
	GID  int
}

// knob describes one variable: its default and how to store it.
type knob struct {
	name string
	def  string
	set  func(c *Config, v string) error
}

var knobs = []knob{
	{"IGNITY_BEHAVIOUR_IF_STAGE2_FAILS", "2", func(c *Config, v string) (err error) { c.ContinueOnFailure, err = policy(v); return }},
	{"IGNITY_CMD_WAIT_FOR_SERVICES", "0", func(c *Config, v string) (err error) { c.CmdWaitForServices, err = flag(v); return }},
	{"IGNITY_CMD_WAIT_FOR_SERVICES_MAXTIME", "5000", func(c *Config, v string) (err error) { c.CmdWaitMax, err = millis(v); return }},
	{"IGNITY_HEALTH_TIMEOUT", "2000", func(c *Config, v string) (err error) { c.HealthTimeout, err = millis(v); return }},
	{"IGNITY_INIT_MAXTIME", "0", func(c *Config, v string) (err error) { c.InitMax, err = millis(v); return }},
	{"IGNITY_CMD_RECEIVE_SIGNALS", "1", func(c *Config, v string) (err error) { c.CmdReceiveSignals, err = flag(v); return }},
	{"IGNITY_CMD_STOP_SIGNAL", "TERM", func(c *Config, v string) (err error) { c.CmdStopSignal, err = Signal(v); return }},
	{"IGNITY_KILL_FINALIZE_MAXTIME", "5000", func(c *Config, v string) (err error) { c.FinalizeMax, err = millis(v); return }},
	{"IGNITY_KILL_GRACETIME", "3000", func(c *Config, v string) (err error) { c.KillGrace, err = millis(v); return }},
	{"IGNITY_LOG_PREFIX", "0", func(c *Config, v string) (err error) { c.LogPrefix, err = flag(v); return }},
	{"IGNITY_LOGGING_SCRIPT", DefaultLoggingScript, func(c *Config, v string) (err error) { c.LoggingScript, err = loggingScript(v); return }},
	{"IGNITY_SERVICES_READY_MAXTIME", "0", func(c *Config, v string) (err error) { c.ReadyMax, err = millis(v); return }},
	{"IGNITY_SERVICES_GRACETIME", "5000", func(c *Config, v string) (err error) { c.ServicesGrace, err = millis(v); return }},
	{"IGNITY_RESTART_BACKOFF_AFTER", "3", func(c *Config, v string) (err error) { c.BackoffAfter, err = count(v, MaxDeathsLimit); return }},
	{"IGNITY_RESTART_BACKOFF_MAX", "30000", func(c *Config, v string) (err error) { c.BackoffMax, err = millis(v); return }},
	{"IGNITY_RESTART_RESET", "10000", func(c *Config, v string) (err error) { c.RestartReset, err = millis(v); return }},
	{"IGNITY_SERVICE_DEATHS_WINDOW", "60", func(c *Config, v string) (err error) { c.DeathsWindow, err = seconds(v); return }},
	{"IGNITY_SERVICE_LEFTOVER_GRACE", "1000", func(c *Config, v string) (err error) { c.LeftoverGrace, err = millis(v); return }},
	{"IGNITY_SERVICE_MAX_DEATHS", "0", func(c *Config, v string) (err error) { c.MaxDeaths, err = count(v, MaxDeathsLimit); return }},
	{"IGNITY_SKIP_PERMS", "0", func(c *Config, v string) (err error) { c.SkipPerms, err = flag(v); return }},
	{"IGNITY_SYNC_DISKS", "0", func(c *Config, v string) (err error) { c.SyncDisks, err = flag(v); return }},
	{"IGNITY_VERBOSITY", "1", func(c *Config, v string) (err error) { c.Verbosity, err = level(v); return }},
	{"IGNITY_KEEP_ENV", "0", func(c *Config, v string) (err error) { c.KeepEnv, err = flag(v); return }},
	{"IGNITY_CMD_ARG0", "", func(c *Config, v string) (err error) { c.CmdArg0, err = words(v); return }},
	{"IGNITY_STAGE2_HOOK", "", func(c *Config, v string) error { c.Stage2Hook = v; return nil }},
	{"IGNITY_RUNTIME_BUNDLEDIR", "", func(c *Config, v string) error {
		if v != "" && !strings.HasPrefix(v, "/") {
			return fmt.Errorf("want an absolute path in the image (a directory of BUNDLE/contents.d), got %q", v)
		}
		c.BundleDir = v
		return nil
	}},
	{"IGNITY_FIX_ATTRS_HIDDEN", "0", func(c *Config, v string) (err error) { c.FixAttrsHidden, err = flag(v); return }},
	{"USER", "root", func(c *Config, v string) error { c.User = v; return nil }},
	{"USERMAP_UID", "0", func(c *Config, v string) (err error) { c.UID, err = id(v); return }},
	{"USERMAP_GID", "0", func(c *Config, v string) (err error) { c.GID, err = id(v); return }},
}

// Known reports whether name is one of ignity's knobs.
func Known(name string) bool {
	for _, k := range knobs {
		if k.name == name {
			return true
		}
	}
	return false
}

// Names lists every knob, in a stable order.
func Names() []string {
	names := make([]string, len(knobs))
	for i, k := range knobs {
		names[i] = k.name
	}
	return names
}

// Parse reads the knobs from env (NAME=value entries; the last one wins).
// An empty value counts as unset. s6-overlay's S6_* names stand for their
// IGNITY_* knobs (see s6.go). Every bad knob is reported, joined, by the
// name it was set under.
func Parse(env []string) (Config, error) {
	c, _, err := ParseFor(env, false)
	return c, err
}

// ParseFor is Parse for an image whose layout is s6-overlay's (overlay,
// see Overlay), whose defaults differ, and returns the notes about the
// S6_* variables too: what stage1 and ignity check say once.
func ParseFor(env []string, overlay bool) (Config, []Note, error) {
	r := resolve(env, overlay)
	var c Config
	var errs []error
	multiline := map[string]bool{}
	for _, k := range knobs {
		v := r.values[k.name]
		if v == "" {
			v = k.def
		}
		src := r.from[k.name]
		if src.name == "" {
			src = setting{k.name, v}
		}
		bad := func(err error) error {
			e := &KnobError{Knob: k.name, Value: src.value, Err: err}
			if src.name != k.name {
				e.Alias = src.name
			}
			return e
		}
		if strings.ContainsRune(v, '\n') {
			errs = append(errs, bad(ErrNewline))
			multiline[k.name] = true
			continue
		}
		if err := k.set(&c, v); err != nil {
			errs = append(errs, bad(err))
		}
	}
	errs = append(errs, r.errs...)
	if !multiline["USER"] && (c.User == "" || strings.ContainsAny(c.User, ":/")) {
		errs = append(errs, &KnobError{Knob: "USER", Value: c.User, Err: errors.New("want an account name without ':', '/' or newlines")})
	}
	return c, r.notes, errors.Join(errs...)
}

// ErrNewline is why a knob's value holding a newline is refused: ignity
// records the knobs for its later processes one per line.
var ErrNewline = errors.New("holds a newline: a knob takes one line (for a multi-line stage2 hook, put the commands in a script and give its path)")

// KnobError is a knob's bad value, every error Parse and ParseFor join.
// It is named as the user set it (S6_STAGE2_HOOK, not the knob it stands
// for): `NAME="value": what is expected`, or `NAME: holds a newline...`
// (Err is ErrNewline), the value not quoted: a hook's text may hold a
// secret.
type KnobError struct {
	Knob  string // the knob: IGNITY_*, USER, USERMAP_UID or USERMAP_GID
	Alias string // the S6_* variable that set it, or ""
	Value string // as set (an S6_* value before its conversion)
	Err   error  // what is expected
}

// Name is the variable the value was set under: Alias, else Knob.
func (e *KnobError) Name() string {
	if e.Alias != "" {
		return e.Alias
	}
	return e.Knob
}

func (e *KnobError) Error() string {
	if errors.Is(e.Err, ErrNewline) {
		return e.Name() + ": " + e.Err.Error()
	}
	return fmt.Sprintf("%s=%q: %v", e.Name(), e.Value, e.Err)
}

// Unwrap returns what is expected.
func (e *KnobError) Unwrap() error { return e.Err }

// Knobs keeps of env (NAME=value entries) the knobs alone, the last
// entry of each name, in the knob table's order, under their IGNITY_*
// names (an S6_* alias resolved, and with overlay the s6-overlay layout's
// defaults made explicit): what ignity records for its later processes,
// which must not see any other variable (secrets), and read the same
// configuration without the image's layout or the S6_* names.
func Knobs(env []string, overlay bool) []string {
	r := resolve(env, overlay)
	var out []string
	for _, k := range knobs {
		if v, ok := r.values[k.name]; ok {
			out = append(out, k.name+"="+v)
		}
	}
	return out
}

// PermVars are the placeholders perms files may use, {{USERMAP_UID}} and
// {{USERMAP_GID}}, with their values.
func (c Config) PermVars() map[string]string {
	return map[string]string{
		"USERMAP_UID": strconv.Itoa(c.UID),
		"USERMAP_GID": strconv.Itoa(c.GID),
	}
}

// Default is the configuration of an empty environment.
func Default() Config {
	c, _ := Parse(nil)
	return c
}

// DefaultFor is the configuration of an empty environment in an image of
// s6-overlay's layout (overlay) or ignity's.
func DefaultFor(overlay bool) Config {
	c, _, _ := ParseFor(nil, overlay)
	return c
}

// StopBound is the longest a shutdown can take with these knobs and n
// finalize scripts: services stop while the finalize scripts run one after
// another, then the remaining processes get the kill grace.
func (c Config) StopBound(nFinalize int) time.Duration {
	finalize := time.Duration(nFinalize) * c.FinalizeMax
	return max(c.ServicesGrace, finalize) + c.KillGrace
}

func millis(v string) (time.Duration, error) {
	n, err := strconv.ParseUint(v, 10, 31)
	if err != nil {
		return 0, errors.New("want a whole number of milliseconds (0 or more)")
	}
	return time.Duration(n) * time.Millisecond, nil
}

// MaxDeathsLimit bounds the death counts (IGNITY_SERVICE_MAX_DEATHS, a
// service's max-deaths): s6's own max-death-tally stops at 4096, and
// ignity keeps no more death times than that per service.
const MaxDeathsLimit = 4096

func count(v string, limit int) (int, error) {
	n, err := strconv.ParseUint(v, 10, 31)
	if err != nil || n > uint64(limit) {
		return 0, fmt.Errorf("want a whole number from 0 to %d", limit)
	}
	return int(n), nil
}

func seconds(v string) (time.Duration, error) {
	n, err := strconv.ParseUint(v, 10, 31)
	if err != nil || n == 0 {
		return 0, errors.New("want a whole number of seconds (1 or more)")
	}
	return time.Duration(n) * time.Second, nil
}

// ParseMaxDeaths reads a service's max-deaths file line, "DEATHS
// SECONDS": the crash-loop limit of that service, which overrides
// IGNITY_SERVICE_MAX_DEATHS and IGNITY_SERVICE_DEATHS_WINDOW. DEATHS 0
// means no limit.
func ParseMaxDeaths(line string) (deaths int, window time.Duration, err error) {
	f := strings.Fields(line)
	if len(f) != 2 {
		return 0, 0, fmt.Errorf("want \"DEATHS SECONDS\" (e.g. \"5 60\"), got %d fields", len(f))
	}
	if deaths, err = count(f[0], MaxDeathsLimit); err != nil {
		return 0, 0, fmt.Errorf("DEATHS %q: %w", f[0], err)
	}
	if window, err = seconds(f[1]); err != nil {
		return 0, 0, fmt.Errorf("SECONDS %q: %w", f[1], err)
	}
	return deaths, window, nil
}

func flag(v string) (bool, error) {
	switch v {
	case "0":
		return false, nil
	case "1":
		return true, nil
	}
	return false, errors.New("want 0 or 1")
}

// policy reads IGNITY_BEHAVIOUR_IF_STAGE2_FAILS as s6-overlay users know
// it: 0 and 1 continue (with a warning: a failure is never silent), 2 stops.
func policy(v string) (bool, error) {
	switch v {
	case "0", "1":
		return true, nil
	case "2":
		return false, nil
	}
	return false, errors.New("want 0 or 1 (continue) or 2 (stop the container)")
}

func level(v string) (int, error) {
	switch v {
	case "0", "1", "2":
		return int(v[0] - '0'), nil
	}
	return 0, errors.New("want 0, 1 or 2")
}

func id(v string) (int, error) {
	n, err := strconv.ParseUint(v, 10, 31)
	if err != nil {
		return 0, errors.New("want a numeric id (0 or more)")
	}
	return int(n), nil
}

// DefaultLoggingScript is s6-overlay's default for logutil-service: keep
// 20 archived files of at most 1 MB each, and prefix every line with an
// ISO 8601 timestamp.
const DefaultLoggingScript = "n20 s1000000 T"

// Signal reads a signal as IGNITY_CMD_STOP_SIGNAL takes it: a name with
// or without SIG ("QUIT", "SIGQUIT", any case) or a number from 1 to 64.
func Signal(v string) (unix.Signal, error) {
	if n, err := strconv.Atoi(v); err == nil {
		if n < 1 || n > 64 {
			return 0, errors.New("want a signal number from 1 to 64, or a name such as TERM or QUIT")
		}
		return unix.Signal(n), nil
	}
	name := strings.ToUpper(v)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	return 0, errors.New("want a signal name such as TERM or QUIT (SIGQUIT works too), or a number")
}

// loggingScript splits IGNITY_LOGGING_SCRIPT into s6-log's directives and
// checks those it can cheaply: what s6-log would refuse at start, once
// per restart, in a loop. The directory is logutil-service's to add.
func loggingScript(v string) ([]string, error) {
	f := strings.Fields(v)
	if len(f) == 0 {
		return nil, errors.New("want s6-log directives, e.g. " + strconv.Quote(DefaultLoggingScript))
	}
	if strings.ContainsAny(v, "\n\r") {
		return nil, errors.New("want the directives on one line")
	}
	for _, d := range f {
		if err := directive(d); err != nil {
			return nil, fmt.Errorf("directive %q: %w", d, err)
		}
	}
	return f, nil
}

// directive checks one s6-log directive (see s6-log's documentation):
// the settings must carry the number they set, within s6-log's range;
// regular expressions, processors, prefixes and destinations are left to
// s6-log.
func directive(d string) error {
	number := func(what string, lo, hi uint64) error {
		n, err := strconv.ParseUint(d[1:], 10, 63)
		if err != nil || n < lo || n > hi {
			return fmt.Errorf("want %c followed by %s, from %d to %d", d[0], what, lo, hi)
		}
		return nil
	}
	const most = 1<<63 - 1
	switch d[0] {
	case 'n':
		return number("the number of archived files to keep", 0, most)
	case 's':
		return number("the size of current that triggers a rotation, in bytes", 4096, 268435455)
	case 'S':
		return number("the largest total size of the archive, in bytes", 0, most)
	case 'l':
		return number("the rotation tolerance, in bytes", 0, most)
	case 'r':
		return number("the retry cooldown, in milliseconds", 0, most)
	case 'E':
		return number("the alert size, in bytes", 0, most)
	case '^':
		return number("the status size, in bytes", 0, most)
	case 't', 'T', 'f', '1', '2':
		if len(d) > 1 {
			return fmt.Errorf("%c takes no argument", d[0])
		}
	case '+', '-', 'p', '!', '?', '=', '.', '/':
	default:
		return errors.New("not an s6-log directive (see s6-log's documentation)")
	}
	return nil
}

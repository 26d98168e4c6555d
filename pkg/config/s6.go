package config

// s6-overlay's variables. An image moved from s6-overlay keeps its S6_*
// settings: each alias stands for an IGNITY_* knob, which wins when both
// are set (one warning when they differ). Those ignity has no use for are
// accepted (a debug line), those it cannot honour are reported once, with
// the ignity way. See the README's "Migrating from s6-overlay".

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/kballard/go-shellquote"
)

// alias is an s6-overlay variable standing for the ignity knob knob;
// conv, when set, turns its value into the knob's.
type alias struct {
	s6, knob string
	conv     func(string) (string, error)
}

var aliases = []alias{
	{"S6_BEHAVIOUR_IF_STAGE2_FAILS", "IGNITY_BEHAVIOUR_IF_STAGE2_FAILS", nil},
	{"S6_CMD_WAIT_FOR_SERVICES", "IGNITY_CMD_WAIT_FOR_SERVICES", nil},
	{"S6_CMD_WAIT_FOR_SERVICES_MAXTIME", "IGNITY_CMD_WAIT_FOR_SERVICES_MAXTIME", nil},
	{"S6_SERVICES_GRACETIME", "IGNITY_SERVICES_GRACETIME", nil},
	{"S6_KILL_GRACETIME", "IGNITY_KILL_GRACETIME", nil},
	{"S6_KILL_FINISH_MAXTIME", "IGNITY_KILL_FINALIZE_MAXTIME", nil},
	{"S6_SYNC_DISKS", "IGNITY_SYNC_DISKS", nil},
	{"S6_LOGGING_SCRIPT", "IGNITY_LOGGING_SCRIPT", nil},
	{"S6_VERBOSITY", "IGNITY_VERBOSITY", s6Verbosity},
	{"S6_KEEP_ENV", "IGNITY_KEEP_ENV", nil},
	{"S6_CMD_ARG0", "IGNITY_CMD_ARG0", nil},
	{"S6_STAGE2_HOOK", "IGNITY_STAGE2_HOOK", nil},
	{"S6_FIX_ATTRS_HIDDEN", "IGNITY_FIX_ATTRS_HIDDEN", nil},
	{"S6_RUNTIME_BUNDLEDIR", "IGNITY_RUNTIME_BUNDLEDIR", nil},
	{"S6_CMD_RECEIVE_SIGNALS", "IGNITY_CMD_RECEIVE_SIGNALS", s6ReceiveSignals},
}

// noEffect are s6-overlay variables ignity accepts and ignores: it always
// does what they ask for, or does not need the check they turn off.
var noEffect = map[string]string{
	"S6_READ_ONLY_ROOT":     "ignity works on a read-only root with a tmpfs at /run/ignity, without being told",
	"S6_SERVICES_READYTIME": "ignity waits for s6-supervise's own status file, not a fixed delay",
	"S6_CMD_USE_TERMINAL":   "the CMD always gets the container's terminal, as its foreground process group",
	"S6_YES_I_WANT_A_WORLD_WRITABLE_RUN_BECAUSE_KUBERNETES": "ignity does not check /run's mode",
}

// unsupported are s6-overlay variables ignity cannot honour: why, and the
// ignity way.
var unsupported = map[string]string{
	"S6_LOGGING":             "ignity has no catch-all logger: the services' output goes to the container's; prefix it with IGNITY_LOG_PREFIX=1, or give a service a log/run with logutil-service",
	"S6_CATCHALL_USER":       "ignity has no catch-all logger to run as another user; give a service a log/run with logutil-service, which runs s6-log as nobody",
	"S6_WAIT_FOR_CLOSING_FD": "ignity does not wait for the CMD's output to close: its loggers drain before the shutdown ends (IGNITY_KILL_GRACETIME bounds the last phase)",
	"S6_RUNTIME_PROFILE":     "ignity has no runtime profiles: set variables in /etc/ignity/envs files or with docker run -e",
}

// Level says how a Note is printed.
type Level int

const (
	// Debug notes print at IGNITY_VERBOSITY=2 only.
	Debug Level = iota + 1
	// Warn notes always print.
	Warn
)

// Note is something to say once about the S6_* variables of an
// environment: a variable set both ways, one with no effect, one not
// supported.
type Note struct {
	Level Level
	Name  string // the variable
	Text  string
}

// setting is where a knob's value came from.
type setting struct{ name, value string }

// resolved is an environment's knobs under their IGNITY_* names.
type resolved struct {
	values map[string]string  // knob name -> value (non-empty only for set ones)
	from   map[string]setting // knob name -> the S6_* variable that set it
	notes  []Note
	errs   []error
}

// Defaults s6-overlay's layout changes to s6-overlay v3's own: a failed
// boot step continues (with ignity's warning), the CMD's wait for the
// services has no limit, and SIGINT and SIGQUIT to PID 1 stop the
// container rather than reach the CMD.
var overlayDefaults = map[string]string{
	"IGNITY_CMD_RECEIVE_SIGNALS":           "0",
	"IGNITY_BEHAVIOUR_IF_STAGE2_FAILS":     "0",
	"IGNITY_CMD_WAIT_FOR_SERVICES_MAXTIME": "0",
}

func resolve(env []string, overlay bool) resolved {
	set := make(map[string]string)
	for _, kv := range env {
		if name, v, ok := strings.Cut(kv, "="); ok {
			set[name] = v
		}
	}
	r := resolved{values: map[string]string{}, from: map[string]setting{}}
	for _, k := range knobs {
		if v := set[k.name]; v != "" {
			r.values[k.name] = v
		}
	}
	for _, a := range aliases {
		v := set[a.s6]
		if v == "" {
			continue
		}
		conv := v
		if a.conv != nil {
			var err error
			if conv, err = a.conv(v); err != nil {
				r.errs = append(r.errs, &KnobError{Knob: a.knob, Alias: a.s6, Value: v, Err: err})
				continue
			}
		}
		if own, ok := r.values[a.knob]; ok {
			if own != conv {
				r.notes = append(r.notes, Note{Warn, a.s6, fmt.Sprintf("%s=%q and %s=%q are both set: %s wins", a.knob, own, a.s6, v, a.knob)})
			}
			continue
		}
		r.values[a.knob] = conv
		r.from[a.knob] = setting{a.s6, v}
	}
	if overlay {
		for k, v := range overlayDefaults {
			if _, ok := r.values[k]; !ok {
				r.values[k] = v
			}
		}
	}
	var names []string
	for name := range set {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if set[name] == "" {
			continue
		}
		if why, ok := noEffect[name]; ok {
			r.notes = append(r.notes, Note{Debug, name, fmt.Sprintf("%s is accepted and has no effect: %s", name, why)})
		}
		if why, ok := unsupported[name]; ok {
			r.notes = append(r.notes, Note{Warn, name, fmt.Sprintf("%s is not supported: %s", name, why)})
		}
	}
	return r
}

// s6Verbosity maps s6-overlay's S6_VERBOSITY (0 to 5, default 2) onto
// ignity's three levels: 0 silent, 1 and 2 the usual lines, 3 and more
// debug lines too.
func s6Verbosity(v string) (string, error) {
	n, err := strconv.ParseUint(v, 10, 31)
	switch {
	case err != nil:
		return "", errors.New("want a whole number, 0 or more (s6-overlay's levels: 0 maps to 0, 1 and 2 to 1, 3 and more to 2)")
	case n == 0:
		return "0", nil
	case n <= 2:
		return "1", nil
	}
	return "2", nil
}

// s6ReceiveSignals maps s6-overlay's S6_CMD_RECEIVE_SIGNALS (0, the
// default, or 1 and more) onto IGNITY_CMD_RECEIVE_SIGNALS. What ignity
// diverts to the CMD is not all s6-overlay diverts: SIGTERM still starts
// the shutdown, whose first step sends the CMD its stop signal (see the
// README's migration table).
func s6ReceiveSignals(v string) (string, error) {
	n, err := strconv.ParseUint(v, 10, 31)
	switch {
	case err != nil:
		return "", errors.New("want a whole number: 0 (signals stop the container) or 1 and more (SIGINT and SIGQUIT go to the CMD)")
	case n == 0:
		return "0", nil
	}
	return "1", nil
}

// words splits IGNITY_CMD_ARG0 as a shell would, quotes honoured, nothing
// expanded.
func words(v string) ([]string, error) {
	w, err := shellquote.Split(v)
	if err != nil {
		return nil, fmt.Errorf("want words as a shell splits them: %v", err)
	}
	return w, nil
}

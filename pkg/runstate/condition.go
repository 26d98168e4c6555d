package runstate

import (
	"errors"
	"time"

	"github.com/ignity/ignity/pkg/s6"
	"github.com/ignity/ignity/pkg/services"
)

// Condition is a service's state as ignity tells it, from everything
// that says something of it: s6's supervise/status, the failed marker
// of ignity's crash-loop limit, its restart record (deaths, backoff) and
// the ordered start's record of its unit. ignity status, ignity health,
// s6-rc and the ordered start all read it from here.
type Condition struct {
	// Status is supervise/status; StatusErr, when not nil, says why it
	// could not be read (not supervised yet, or not in the scandir).
	Status    s6.Status
	StatusErr error
	// Failed: the crash-loop limit marked it failed for good, for Why.
	Failed bool
	Why    string
	// Restarts counts the deaths of run: ignity's count when its finish
	// kept one, else s6's supervise/death_tally (capped at
	// max-death-tally).
	Restarts int
	// Backoff is what is left of the restart backoff run waits through
	// before the real program (s6 reports it up meanwhile); 0 for none.
	Backoff time.Duration
	// Unit is where the ordered start is with it ("" before it dealt with
	// it), with the detail of a failure.
	Unit       UnitState
	UnitDetail string
}

// Condition reads the state of the service name, whose service dir in
// the scandir is dir ("" for a unit not in the scandir: a held
// dependent or a oneshot), at now.
func (s State) Condition(name, dir string, now time.Time) Condition {
	c := Condition{StatusErr: errNotInScandir}
	c.Unit, c.UnitDetail, _ = s.UnitOf(name)
	c.Why, c.Failed = s.Failed(name)
	if dir == "" {
		return c
	}
	c.Restarts = s6.Deaths(dir)
	if r, ok, err := s.Restarts(name); err == nil && ok {
		c.Restarts = r.Deaths
		if r.Until.After(now) {
			c.Backoff = r.Until.Sub(now)
		}
	}
	c.Status, c.StatusErr = s6.ReadStatus(dir)
	return c
}

var errNotInScandir = errors.New("not in the scandir")

// Supervised reports whether supervise/status could be read.
func (c Condition) Supervised() bool { return c.StatusErr == nil }

// Word is the state `ignity status` shows, for a unit of type t (a
// service of the scandir is a longrun) with notification-fd or not:
//
//	waiting    held until its dependencies have started
//	failed     failed for good (crash-loop limit, or its unit failed)
//	backoff    run waits before restarting the program
//	finishing  run died, finish runs
//	ready      up and notified ready (notification-fd)
//	up         up
//	down       down, or not supervised yet
//	running    a oneshot's up line runs
//	done       a oneshot's up line exited 0
func (c Condition) Word(t services.Type, notify bool) string {
	if !c.Supervised() {
		if c.StatusErr == errNotInScandir {
			return unitWord(t, c.Unit)
		}
		if c.Unit == UnitWaiting {
			return "waiting"
		}
		return "down"
	}
	st := c.Status
	switch {
	case c.Unit == UnitWaiting:
		return "waiting"
	case c.Failed:
		return "failed"
	case c.Backoff > 0:
		return "backoff"
	case st.Finishing:
		return "finishing"
	case st.Up() && notify && st.Ready():
		return "ready"
	case st.Up():
		return "up"
	}
	return "down"
}

// unitWord is the state of a unit the ordered start keeps out of the
// scandir.
func unitWord(t services.Type, u UnitState) string {
	switch {
	case u == UnitFailed:
		return "failed"
	case t != services.Oneshot:
		return "waiting" // held out of the scandir
	case u == UnitStarted:
		return "done"
	case u == UnitRunning:
		return "running"
	}
	return "waiting"
}

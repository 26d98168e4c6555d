package applets

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/ignity/ignity/pkg/layout"
	"github.com/ignity/ignity/pkg/logprefix"
	"github.com/ignity/ignity/pkg/runstate"
	"github.com/ignity/ignity/pkg/s6"
)

// Health is `ignity health`: exit 0 when every service that should be up
// is up (ready, with notification-fd), none failed, and each health
// program exits 0 within IGNITY_HEALTH_TIMEOUT, and the log prefixer
// (IGNITY_LOG_PREFIX=1) is up; else one line per failing service on w and
// exit 1. It reads supervise/status itself: with no
// health program it is one process. Nothing but 0 or 1 comes out.
func Health(l layout.Layout, args []string, w io.Writer) error {
	if len(args) > 0 {
		fmt.Fprintf(w, "health: unexpected argument %q\n", args[0])
		return ExitCode(1)
	}
	if bad := Unhealthy(l); len(bad) > 0 {
		for _, line := range bad {
			fmt.Fprintln(w, line)
		}
		return ExitCode(1)
	}
	return nil
}

// Unhealthy lists, one line each, the services that fail the check.
func Unhealthy(l layout.Layout) []string {
	rs := runstate.New(l.Run())
	cfg, err := rs.Config()
	if err != nil {
		return []string{fmt.Sprintf("ignity: %v", err)}
	}
	list, err := s6.List(l.Scandir())
	if err != nil {
		return []string{fmt.Sprintf("ignity: read the services of %s: %v", l.Scandir(), err)}
	}
	now := time.Now()
	out := unstarted(rs, list, now)
	for _, s := range list {
		if s.Name == logprefix.Service {
			if line := prefixerHealth(s); line != "" {
				out = append(out, line)
			}
			continue
		}
		cond := rs.Condition(s.Name, s.Dir, now)
		st := cond.Status
		switch {
		case !cond.Supervised():
			out = append(out, fmt.Sprintf("%s: not supervised: %v", s.Name, cond.StatusErr))
			continue
		case cond.Failed:
			out = append(out, fmt.Sprintf("%s: failed: %s", s.Name, cond.Why))
			continue
		case !st.WantUp:
			continue // taken down (s6-svc -d, a down file): not wanted up
		case !st.Up():
			code, sig := st.Exit()
			out = append(out, fmt.Sprintf("%s: down, wanted up (last exit %s)", s.Name, (&LastExit{code, sig}).String()))
			continue
		case cond.Backoff > 0:
			out = append(out, fmt.Sprintf("%s: restart backoff: starting again in %d ms", s.Name, cond.Backoff.Milliseconds()))
			continue
		case s.Notify && !st.Ready():
			out = append(out, s.Name+": up but not ready (notification-fd)")
			continue
		}
		prog := filepath.Join(s.Dir, "health")
		if !executable(prog) {
			continue
		}
		ctx := context.Background()
		if cfg.HealthTimeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, cfg.HealthTimeout)
			defer cancel()
		}
		c := exec.CommandContext(ctx, prog)
		c.Dir = s.Dir
		c.Stdin, c.Stdout, c.Stderr = nil, nil, os.Stderr
		err := c.Run()
		var ee *exec.ExitError
		switch {
		case err == nil:
		case ctx.Err() != nil:
			out = append(out, fmt.Sprintf("%s: %s did not exit within IGNITY_HEALTH_TIMEOUT=%d ms", s.Name, prog, cfg.HealthTimeout.Milliseconds()))
		case errors.As(err, &ee):
			out = append(out, fmt.Sprintf("%s: %s exited %d", s.Name, prog, ee.ExitCode()))
		default:
			out = append(out, fmt.Sprintf("%s: %s: %v", s.Name, prog, err))
		}
	}
	return out
}

// prefixerHealth checks the log prefixer's service (IGNITY_LOG_PREFIX=1),
// which must be up whether or not s6 is told to want it: while it is
// down, the prefixed services' output waits in their FIFOs, and each
// service blocks once its FIFO is full. s6-supervise restarts it when it
// dies; s6-svc -d (told down) counts as down at once, as it is on its way
// out.
func prefixerHealth(s s6.ServiceDir) string {
	const what = "the log prefixer (IGNITY_LOG_PREFIX=1)"
	const effect = "the services' output waits in their pipes, and a service blocks once its pipe is full"
	st, err := s6.ReadStatus(s.Dir)
	switch {
	case err != nil:
		return fmt.Sprintf("%s: %s is not supervised: %v: %s", s.Name, what, err, effect)
	case !st.WantUp:
		return fmt.Sprintf("%s: %s is taken down (s6-svc -u %s brings it back): %s", s.Name, what, s.Dir, effect)
	case !st.Up():
		code, sig := st.Exit()
		return fmt.Sprintf("%s: %s is down (last exit %s), s6 restarts it: %s", s.Name, what, (&LastExit{code, sig}).String(), effect)
	}
	return ""
}

// unstarted lists the units of the ordered start that are not in the
// scandir (list) and have not completed: dependents still held, a oneshot
// that runs or failed. Before the ordered start completes the container
// is not healthy yet.
func unstarted(rs runstate.State, list []s6.ServiceDir, now time.Time) []string {
	plan, _, err := rs.Plan()
	if err != nil {
		return []string{fmt.Sprintf("ignity: %v", err)}
	}
	if !plan.HasDeps() {
		return nil // no ordered start: every unit is a longrun of the scandir
	}
	live := map[string]bool{}
	for _, s := range list {
		live[s.Name] = true
	}
	var out []string
	for _, u := range plan.Units {
		if live[u.Name] {
			continue
		}
		c := rs.Condition(u.Name, "", now)
		switch c.Word(u.Type, u.Notify) {
		case "failed":
			out = append(out, fmt.Sprintf("%s: failed: %s", u.Name, c.UnitDetail))
		case "done":
		case "running":
			out = append(out, u.Name+": oneshot still running")
		default:
			out = append(out, u.Name+": not started yet: waiting for its dependencies")
		}
	}
	return out
}

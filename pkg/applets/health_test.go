package applets

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ignity/ignity/pkg/layout"
	"github.com/ignity/ignity/pkg/runstate"
	"github.com/ignity/ignity/pkg/services"
)

// writeStatus writes a supervise/status as s6-supervise 2.13 packs it.
func writeStatus(t *testing.T, dir string, pid int, wstat uint16, flags byte, since time.Time) {
	t.Helper()
	b := make([]byte, 43)
	for _, off := range []int{0, 12} {
		binary.BigEndian.PutUint64(b[off:], uint64(1<<62+since.Unix()+37))
	}
	binary.BigEndian.PutUint64(b[24:], uint64(pid))
	binary.BigEndian.PutUint64(b[32:], uint64(pid))
	binary.BigEndian.PutUint16(b[40:], wstat)
	b[42] = flags
	if err := os.MkdirAll(filepath.Join(dir, "supervise"), 0o711); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "supervise", "status"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// bootState makes the run state as stage1 does, with knobs.
func bootState(t *testing.T, l layout.Layout, knobs ...string) {
	t.Helper()
	st := runstate.New(l.Run())
	if err := st.Create(0); err != nil {
		t.Fatal(err)
	}
	if err := st.WriteBoot(runstate.Boot{Svscan: 1, Stage2: 2, Knobs: knobs}); err != nil {
		t.Fatal(err)
	}
}

func TestHealthAndStatus(t *testing.T) {
	l := layout.Layout{Root: t.TempDir()}
	os.MkdirAll(l.Scandir(), 0o755)
	bootState(t, l, "IGNITY_HEALTH_TIMEOUT=100")
	now := time.Now()
	svc := func(name string) string { d := filepath.Join(l.Scandir(), name); os.MkdirAll(d, 0o755); return d }
	writeStatus(t, svc("up"), 42, 0, 4, now.Add(-3*time.Second))
	writeStatus(t, svc("crashed"), 0, 3<<8, 4|8, now) // down, wanted up
	writeStatus(t, svc("taken-down"), 0, 15, 8, now)  // s6-svc -d
	writeStatus(t, svc("unready"), 7, 0, 4, now)      // notification-fd, not ready
	os.WriteFile(filepath.Join(l.Scandir(), "unready", "notification-fd"), []byte("3\n"), 0o644)
	d := svc("sick")
	writeStatus(t, d, 9, 0, 4, now)
	os.WriteFile(filepath.Join(d, "health"), []byte("#!/bin/sh\nexit 4\n"), 0o755)
	d = svc("slow")
	writeStatus(t, d, 10, 0, 4, now)
	os.WriteFile(filepath.Join(d, "health"), []byte("#!/bin/sh\nexec sleep 5\n"), 0o755)

	writeStatus(t, svc("looped"), 0, 1<<8, 8, now) // finish exited 125: down, not wanted up
	if err := runstate.New(l.Run()).MarkFailed("looped", "died 5 times within 60 s"); err != nil {
		t.Fatal(err)
	}

	got := strings.Join(Unhealthy(l), "\n")
	for _, want := range []string{"crashed: down, wanted up (last exit 3)", "unready: up but not ready", "sick/health exited 4", "slow/health did not exit within IGNITY_HEALTH_TIMEOUT=100 ms", "looped: failed: died 5 times"} {
		if !strings.Contains(got, want) {
			t.Errorf("health: no %q in:\n%s", want, got)
		}
	}
	for _, no := range []string{"up:", "taken-down"} {
		if strings.Contains(got, no) {
			t.Errorf("health names %q:\n%s", no, got)
		}
	}

	r, err := Collect(l, now)
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]Entry{}
	for _, e := range r.Services {
		states[e.Name] = e
	}
	if e := states["up"]; e.State != "up" || e.Pid != 42 || e.UptimeMs < 2900 || e.UptimeMs > 4100 || !e.WantedUp {
		t.Errorf("up: %+v", e)
	}
	if e := states["taken-down"]; e.State != "down" || e.WantedUp || e.Pid != 0 {
		t.Errorf("taken-down: %+v", e)
	}
	if e := states["looped"]; e.State != "failed" {
		t.Errorf("looped: %+v", e)
	}
	if r.Version != 1 || r.Cmd != nil {
		t.Errorf("report: %+v", r)
	}
}

// A dependent the ordered start still holds, and a oneshot that failed,
// make the container unhealthy; a oneshot done and a started longrun do not.
func TestHealthOrderedStart(t *testing.T) {
	l := layout.Layout{Root: t.TempDir()}
	os.MkdirAll(l.Scandir(), 0o755)
	bootState(t, l)
	db := filepath.Join(l.Scandir(), "db")
	os.MkdirAll(db, 0o755)
	writeStatus(t, db, 42, 0, 4, time.Now())
	rs := runstate.New(l.Run())
	for _, err := range []error{
		rs.SetPlan(services.Plan{Units: []services.Unit{
			{Name: "init", Type: "oneshot"}, {Name: "migrate", Type: "oneshot"},
			{Name: "db", Type: "longrun", Deps: []string{"init"}}, {Name: "web", Type: "longrun", Deps: []string{"db"}},
		}}),
		rs.SetUnit("init", runstate.UnitStarted, ""), rs.SetUnit("migrate", runstate.UnitFailed, "up exited 2"),
		rs.SetUnit("db", runstate.UnitStarted, ""), rs.SetUnit("web", runstate.UnitWaiting, ""),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	got := strings.Join(Unhealthy(l), "\n")
	for _, want := range []string{"web: not started yet: waiting for its dependencies", "migrate: failed: up exited 2"} {
		if !strings.Contains(got, want) {
			t.Errorf("health: no %q in:\n%s", want, got)
		}
	}
	for _, no := range []string{"init:", "db:"} {
		if strings.Contains(got, no) {
			t.Errorf("health names %q:\n%s", no, got)
		}
	}
}

// The log prefixer's service (IGNITY_LOG_PREFIX=1) must be up, wanted or
// not: taken down with s6-svc -d (even while it still drains), dead and
// not yet restarted, or not supervised, it fails the check, named.
func TestHealthPrefixer(t *testing.T) {
	now := time.Now()
	for _, tt := range []struct {
		name   string
		status func(t *testing.T, dir string)
		want   string // "" when healthy
	}{
		{"up", func(t *testing.T, d string) { writeStatus(t, d, 42, 0, 4, now) }, ""},
		{"taken down, draining", func(t *testing.T, d string) { writeStatus(t, d, 42, 0, 0, now) }, "is taken down"},
		{"taken down", func(t *testing.T, d string) { writeStatus(t, d, 0, 9, 0, now) }, "is taken down"},
		{"killed, restarting", func(t *testing.T, d string) { writeStatus(t, d, 0, 9, 4, now) }, "is down (last exit SIGKILL), s6 restarts it"},
		{"not supervised", func(t *testing.T, d string) {}, "is not supervised"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l := layout.Layout{Root: t.TempDir()}
			d := filepath.Join(l.Scandir(), "ignity-log-prefixer")
			os.MkdirAll(d, 0o755)
			bootState(t, l)
			tt.status(t, d)
			got := strings.Join(Unhealthy(l), "\n")
			switch {
			case tt.want == "" && got != "":
				t.Errorf("health: %q, want healthy", got)
			case tt.want != "" && !strings.Contains(got, "ignity-log-prefixer: the log prefixer (IGNITY_LOG_PREFIX=1) "+tt.want):
				t.Errorf("health: %q, want %q", got, tt.want)
			}
		})
	}
}

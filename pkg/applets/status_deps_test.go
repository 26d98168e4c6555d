package applets

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/ignity/ignity/pkg/layout"
	"github.com/ignity/ignity/pkg/runstate"
	"github.com/ignity/ignity/pkg/services"
)

// TestStatusDependencies: status --json lists each service's
// dependencies, the held ones as waiting with what they wait for, and
// oneshots by their state.
func TestStatusDependencies(t *testing.T) {
	l := layout.Layout{Root: t.TempDir()}
	os.MkdirAll(l.Scandir(), 0o755)
	now := time.Now()
	db := filepath.Join(l.Scandir(), "db")
	os.MkdirAll(db, 0o755)
	writeStatus(t, db, 42, 0, 4, now)
	rs := runstate.New(l.Run())
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(rs.Create(0))
	must(rs.SetPlan(services.Plan{Units: []services.Unit{
		{Name: "init", Type: "oneshot", Level: 0},
		{Name: "db", Type: "longrun", Deps: []string{"init"}, Level: 1},
		{Name: "cache", Type: "longrun", Level: 0},
		{Name: "web", Type: "longrun", Deps: []string{"cache", "db"}, Level: 2},
	}}))
	must(rs.SetUnit("init", runstate.UnitStarted, ""))
	must(rs.SetUnit("db", runstate.UnitRunning, ""))
	must(rs.SetUnit("web", runstate.UnitWaiting, ""))
	must(rs.SetUnit("cache", runstate.UnitStarted, ""))

	var out bytes.Buffer
	must(Status(l, []string{"--json"}, &out))
	var r Report
	must(json.Unmarshal(out.Bytes(), &r))
	got := map[string]Entry{}
	for _, e := range r.Services {
		got[e.Name] = e
	}
	for name, want := range map[string]struct {
		typ, state    string
		deps, waiting []string
	}{
		"init":  {"oneshot", "done", []string{}, []string{}},
		"db":    {"longrun", "up", []string{"init"}, []string{}},
		"cache": {"longrun", "waiting", []string{}, []string{}},
		"web":   {"longrun", "waiting", []string{"cache", "db"}, []string{"db"}},
	} {
		e, ok := got[name]
		if !ok {
			t.Errorf("%s missing from %s", name, out.String())
			continue
		}
		deps := e.Dependencies
		if deps == nil {
			deps = []string{}
		}
		if e.Type != want.typ || e.State != want.state || !reflect.DeepEqual(deps, want.deps) || !reflect.DeepEqual(e.WaitingFor, want.waiting) {
			t.Errorf("%s: type %q state %q deps %q waiting for %q; want %q %q %q %q", name, e.Type, e.State, deps, e.WaitingFor, want.typ, want.state, want.deps, want.waiting)
		}
	}
}

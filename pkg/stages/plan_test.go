package stages

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/ignity/ignity/pkg/config"
	"github.com/ignity/ignity/pkg/console"
	"github.com/ignity/ignity/pkg/order"
	"github.com/ignity/ignity/pkg/runstate"
	"github.com/ignity/ignity/pkg/s6"
	"github.com/ignity/ignity/pkg/services"
)

// TestStopOrder: the services stop by the start plan's levels, the last
// first; a service the plan does not know stops with level 0; without a
// plan, all at once.
func TestStopOrder(t *testing.T) {
	w := newWorld(t)
	for _, n := range []string{"db", "app", "proxy", "cache", "extra"} {
		if err := os.MkdirAll(filepath.Join(w.sys.Layout.Scandir(), n), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	d := &stage3{sys: w.sys, st: w.State(), log: console.To(w.stderr, 1)}
	names := func(groups [][]s6.ServiceDir) [][]string {
		var out [][]string
		for _, g := range groups {
			var ns []string
			for _, s := range g {
				ns = append(ns, s.Name)
			}
			out = append(out, ns)
		}
		return out
	}
	if got, want := names(d.stopOrder()), [][]string{{"app", "cache", "db", "extra", "proxy"}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("without a plan: %v, want %v", got, want)
	}
	if err := w.State().SetPlan(services.Plan{Units: []services.Unit{
		{Name: "db", Type: "longrun"}, {Name: "cache", Type: "longrun"},
		{Name: "app", Type: "longrun", Deps: []string{"db", "cache"}, Level: 1},
		{Name: "init", Type: "oneshot"},
		{Name: "proxy", Type: "longrun", Deps: []string{"app"}, Level: 2},
	}}); err != nil {
		t.Fatal(err)
	}
	d = &stage3{sys: w.sys, st: w.State(), log: console.To(w.stderr, 1)} // a stage3 reads the plan once
	if got, want := names(d.stopOrder()), [][]string{{"proxy"}, {"app"}, {"cache", "db", "extra"}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("with a plan: %v, want %v", got, want)
	}
}

// TestInstallHoldsDependents: installServices puts every service in the
// scandir at once, as s6-overlay does; one with dependencies goes in down,
// by a down file marked as ignity's, wrapped and ready to be told up.
func TestInstallHoldsDependents(t *testing.T) {
	w := newWorld(t)
	l := w.sys.Layout
	w.file(t, "/etc/ignity/services/db/run", "#!/bin/sh\n", 0o755)
	w.file(t, "/etc/ignity/services/app/run", "#!/bin/sh\n", 0o755)
	w.file(t, "/etc/ignity/services/app/dependencies", "db\n", 0o644)
	for _, n := range []string{"db", "app"} {
		if err := s6.CopyTree(filepath.Join(l.EtcServices(), n), filepath.Join(l.RunServices(), n)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(l.Scandir(), 0o755); err != nil {
		t.Fatal(err)
	}
	defs, probs := services.Load(l.Root, "")
	plan, more := services.MakePlan(defs)
	if len(probs)+len(more) > 0 {
		t.Fatal(probs, more)
	}
	b := &stage2{sys: w.sys, plan: plan}
	origin := func(n string) string { return filepath.Join(l.EtcServices(), n) }
	if _, err := installServices(l, config.Default(), false, w.sys.Exe, b.prepareUnit, origin); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"db/run", "app/" + s6.RunUser, "app/down", "app/" + order.HeldMark} {
		if _, err := os.Lstat(filepath.Join(l.Scandir(), f)); err != nil {
			t.Errorf("%s not in the scandir: %v", f, err)
		}
	}
	if _, err := os.Lstat(filepath.Join(l.Scandir(), "db", "down")); err == nil {
		t.Error("db, which has no dependency, is held down")
	}
	if target, err := os.Readlink(l.RunServices()); err != nil || target != "services-state" {
		t.Errorf("/run/ignity/services -> %q, %v; want services-state", target, err)
	}
}

// TestPlanReadOncePerBoot: stage2 starts what stage1 planned and
// recorded, without reading the definitions again, unless a stage2 hook
// ran, which may have changed them: then it plans again and records the
// new plan in the place of stage1's.
func TestPlanReadOncePerBoot(t *testing.T) {
	w := newWorld(t)
	st := w.State()
	if err := st.Create(0); err != nil {
		t.Fatal(err)
	}
	w.file(t, "/etc/ignity/services/db/run", "#!/bin/sh\n", 0o755)
	w.file(t, "/etc/ignity/services/app/run", "#!/bin/sh\n", 0o755)
	w.file(t, "/etc/ignity/services/app/dependencies", "db\n", 0o644)
	defs, _ := services.Load(w.sys.Layout.Root, "")
	recorded, probs := services.MakePlan(defs)
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	if err := st.SetPlan(recorded); err != nil {
		t.Fatal(err)
	}
	// What a hook would do: one more service, after stage1's check.
	w.file(t, "/etc/ignity/services/late/run", "#!/bin/sh\n", 0o755)
	names := func(p services.Plan) []string {
		var out []string
		for _, u := range p.Units {
			out = append(out, u.Name)
		}
		return out
	}
	for _, tt := range []struct {
		name string
		hook string
		want []string
	}{
		{name: "no hook: stage1's plan", want: []string{"db", "app"}},
		{name: "after a hook: planned again", hook: "true", want: []string{"db", "late", "app"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := &stage2{sys: w.sys, st: st, log: console.To(w.stderr, 1), cfg: config.Config{Stage2Hook: tt.hook}}
			if err := b.planServices(); err != nil {
				t.Fatal(err)
			}
			if got := names(b.plan); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("stage2's plan %v, want %v", got, tt.want)
			}
			rec, ok, err := st.Plan()
			if got := names(rec); !ok || err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("recorded plan %v (%v, %v), want %v", got, ok, err, tt.want)
			}
			if u, _ := b.plan.Get("app"); !reflect.DeepEqual(u.Deps, []string{"db"}) {
				t.Errorf("app's deps %v, want [db]", u.Deps)
			}
			if unit, _, _ := st.UnitOf("app"); unit != runstate.UnitWaiting {
				t.Errorf("app's unit %q, want waiting", unit)
			}
		})
	}
}

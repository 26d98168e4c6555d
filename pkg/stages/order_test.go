package stages

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/ignity/ignity/pkg/config"
	"github.com/ignity/ignity/pkg/console"
	"github.com/ignity/ignity/pkg/runstate"
	"github.com/ignity/ignity/pkg/svc"
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
	d := &stage3{sys: w.sys, st: w.state(), log: console.To(w.stderr, 1)}
	names := func(groups [][]svc.Service) [][]string {
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
	if err := w.state().SetPlan([]runstate.Unit{
		{Name: "db", Type: "longrun"}, {Name: "cache", Type: "longrun"},
		{Name: "app", Type: "longrun", Deps: []string{"db", "cache"}, Level: 1},
		{Name: "init", Type: "oneshot"},
		{Name: "proxy", Type: "longrun", Deps: []string{"app"}, Level: 2},
	}); err != nil {
		t.Fatal(err)
	}
	if got, want := names(d.stopOrder()), [][]string{{"proxy"}, {"app"}, {"cache", "db", "extra"}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("with a plan: %v, want %v", got, want)
	}
}

// TestInstallHoldsDependents: installServices leaves a service with
// dependencies in /run/ignity/services, ready to move in (wrapped), and
// installs the others.
func TestInstallHoldsDependents(t *testing.T) {
	w := newWorld(t)
	l := w.sys.Layout
	for _, n := range []string{"db", "app"} {
		w.file(t, "/run/ignity/services/"+n+"/run", "#!/bin/sh\n", 0o755)
	}
	if err := os.MkdirAll(l.Scandir(), 0o755); err != nil {
		t.Fatal(err)
	}
	held := func(n string) bool { return n == "app" }
	origin := func(n string) string { return filepath.Join(l.EtcServices(), n) }
	if _, err := installServices(l, config.Default(), false, w.sys.Exe, held, origin); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(l.Scandir(), "db", "run")); err != nil {
		t.Errorf("db not installed: %v", err)
	}
	if _, err := os.Lstat(filepath.Join(l.Scandir(), "app")); err == nil {
		t.Error("app, which has a dependency, is in the scandir")
	}
	if _, err := os.Lstat(filepath.Join(l.RunServices(), "app", svc.RunUser)); err != nil {
		t.Errorf("held app not wrapped for its later install: %v", err)
	}
	if target, err := os.Readlink(filepath.Join(l.RunServices(), "db")); err != nil || target != "../services-state/db" {
		t.Errorf("/run/ignity/services/db -> %q, %v; want ../services-state/db", target, err)
	}
}

package services

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ignity/ignity/pkg/fileerr"
	"github.com/ignity/ignity/pkg/layout"
)

// tree writes files (path -> content; a path ending in / is a directory,
// "-> target" a symlink) under a new root.
func tree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, body := range files {
		h := filepath.Join(root, p)
		if strings.HasSuffix(p, "/") {
			if err := os.MkdirAll(h, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(h), 0o755); err != nil {
			t.Fatal(err)
		}
		if target, ok := strings.CutPrefix(body, "-> "); ok {
			if err := os.Symlink(target, h); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(h, []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func plan(t *testing.T, files map[string]string) (Plan, []*fileerr.Error) {
	t.Helper()
	d, probs := Load(tree(t, files), "")
	if len(probs) > 0 {
		return Plan{}, probs
	}
	return MakePlan(d)
}

func order(p Plan) map[string]int {
	m := map[string]int{}
	for _, u := range p.Units {
		m[u.Name] = u.Level
	}
	return m
}

func TestIgnityDependencies(t *testing.T) {
	p, probs := plan(t, map[string]string{
		"etc/ignity/services/a/run":             "#!/bin/sh\n",
		"etc/ignity/services/a/dependencies":    "# a needs b\nb\n\n",
		"etc/ignity/services/b/run":             "#!/bin/sh\n",
		"etc/ignity/services/b/dependencies":    "c # the database\n",
		"etc/ignity/services/c/run":             "#!/bin/sh\n",
		"etc/ignity/services/c/notification-fd": "3\n",
		"etc/ignity/services/c/timeout-up":      "250\n",
		"etc/ignity/services/d/run":             "#!/bin/sh\n",
	})
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	if got, want := order(p), map[string]int{"a": 2, "b": 1, "c": 0, "d": 0}; !reflect.DeepEqual(got, want) {
		t.Fatalf("levels %v, want %v", got, want)
	}
	if names := unitNames(p); strings.Join(names, " ") != "c d b a" {
		t.Fatalf("start order %v, want c d b a", names)
	}
	c, _ := p.Get("c")
	if !c.Notify || c.TimeoutUp.Milliseconds() != 250 {
		t.Fatalf("c: notify %v timeout-up %v", c.Notify, c.TimeoutUp)
	}
	a, _ := p.Get("a")
	if !reflect.DeepEqual(a.Deps, []string{"b"}) || !p.HasDeps() {
		t.Fatalf("a deps %v, HasDeps %v", a.Deps, p.HasDeps())
	}
}

func unitNames(p Plan) []string {
	var out []string
	for _, u := range p.Units {
		out = append(out, u.Name)
	}
	return out
}

func TestNoDependencies(t *testing.T) {
	p, probs := plan(t, map[string]string{
		"etc/ignity/services/a/run": "#!/bin/sh\n",
		"etc/ignity/services/b/run": "#!/bin/sh\n",
	})
	if len(probs) > 0 || p.HasDeps() || p.Levels() != 1 {
		t.Fatalf("probs %v, HasDeps %v, levels %d: want none, false, 1", probs, p.HasDeps(), p.Levels())
	}
}

func TestDiamond(t *testing.T) {
	p, probs := plan(t, map[string]string{
		"etc/ignity/services/top/run":            "x",
		"etc/ignity/services/top/dependencies":   "left\nright\n",
		"etc/ignity/services/left/run":           "x",
		"etc/ignity/services/left/dependencies":  "bottom\n",
		"etc/ignity/services/right/run":          "x",
		"etc/ignity/services/right/dependencies": "bottom\n",
		"etc/ignity/services/bottom/run":         "x",
	})
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	if got, want := order(p), map[string]int{"top": 2, "left": 1, "right": 1, "bottom": 0}; !reflect.DeepEqual(got, want) {
		t.Fatalf("levels %v, want %v", got, want)
	}
}

func TestCyclesAndMissing(t *testing.T) {
	for _, tt := range []struct {
		name  string
		files map[string]string
		want  []string
	}{
		{"cycle of three", map[string]string{
			"etc/ignity/services/b/run": "x", "etc/ignity/services/b/dependencies": "c\n",
			"etc/ignity/services/c/run": "x", "etc/ignity/services/c/dependencies": "a\n",
			"etc/ignity/services/a/run": "x", "etc/ignity/services/a/dependencies": "b\n",
		}, []string{"/etc/ignity/services/a/dependencies: dependency cycle: a -> b -> c -> a"}},
		{"self", map[string]string{
			"etc/ignity/services/a/run": "x", "etc/ignity/services/a/dependencies": "a\n",
		}, []string{"/etc/ignity/services/a/dependencies: dependency cycle: a -> a"}},
		{"missing", map[string]string{
			"etc/ignity/services/a/run": "x", "etc/ignity/services/a/dependencies": "db\n",
		}, []string{`/etc/ignity/services/a/dependencies:1: dependency "db": no such service`}},
		{"s6-rc cycle", map[string]string{
			"etc/s6-overlay/s6-rc.d/x/type": "oneshot\n", "etc/s6-overlay/s6-rc.d/x/up": "echo x\n",
			"etc/s6-overlay/s6-rc.d/x/dependencies.d/y": "",
			"etc/s6-overlay/s6-rc.d/y/type":             "longrun\n", "etc/s6-overlay/s6-rc.d/y/run": "x",
			"etc/s6-overlay/s6-rc.d/y/dependencies.d/x": "",
			"etc/s6-overlay/s6-rc.d/user/type":          "bundle\n", "etc/s6-overlay/s6-rc.d/user/contents.d/y": "",
		}, []string{"/etc/s6-overlay/s6-rc.d/x/dependencies.d: dependency cycle: x -> y -> x"}},
		{"missing bundle member", map[string]string{
			"etc/s6-overlay/s6-rc.d/user/type": "bundle\n", "etc/s6-overlay/s6-rc.d/user/contents.d/ghost": "",
		}, []string{`/etc/s6-overlay/s6-rc.d/user/contents.d/ghost: no service or bundle "ghost"`}},
		{"missing s6-rc dependency", map[string]string{
			"etc/s6-overlay/s6-rc.d/web/type": "longrun\n", "etc/s6-overlay/s6-rc.d/web/run": "x",
			"etc/s6-overlay/s6-rc.d/web/dependencies.d/base": "", "etc/s6-overlay/s6-rc.d/web/dependencies.d/db": "",
			"etc/s6-overlay/user-bundles.d/user/contents.d/web": "",
		}, []string{`/etc/s6-overlay/s6-rc.d/web/dependencies.d/db: no service or bundle "db"`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, probs := plan(t, tt.files)
			var got []string
			for _, p := range probs {
				got = append(got, p.Error())
			}
			if len(got) != len(tt.want) {
				t.Fatalf("problems %q, want %q", got, tt.want)
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tt.want[i]) {
					t.Errorf("problem %q, want it to start with %q", got[i], tt.want[i])
				}
			}
		})
	}
}

// TestS6rcTree is shaped like the trees popular s6-overlay v3 base images
// ship: init oneshots chained on base, a user bundle, a user2 bundle, a
// services.d service in between, and a definition outside every bundle.
func TestS6rcTree(t *testing.T) {
	rc := "etc/s6-overlay/s6-rc.d/"
	d, probs := Load(tree(t, map[string]string{
		rc + "init-config/type": "oneshot\n", rc + "init-config/up": "/etc/s6-overlay/scripts/init-config\n",
		rc + "init-config/dependencies.d/base": "", rc + "init-config/timeout-up": "3000\n",
		rc + "init-echo/type": "oneshot\n", rc + "init-echo/up": "echo hello\n",
		rc + "init-echo/dependencies.d/init-config": "", rc + "init-echo/down": "echo bye\n",
		rc + "init-noop/type": "oneshot\n", rc + "init-noop/up": "# nothing\n",
		rc + "init-noop/dependencies.d/init-echo": "",
		rc + "init-services/type":                 "bundle\n", rc + "init-services/contents.d/init-noop": "",
		rc + "app/type": "longrun\n", rc + "app/run": "#!/bin/sh\n", rc + "app/dependencies.d/init-services": "",
		rc + "app/producer-for": "app-log\n",
		rc + "app-log/type":     "longrun\n", rc + "app-log/run": "#!/bin/sh\n", rc + "app-log/consumer-for": "app\n",
		rc + "app-log/pipeline-name": "app-pipeline\n",
		rc + "late/type":             "longrun\n", rc + "late/run": "#!/bin/sh\n",
		rc + "outside/type": "longrun\n", rc + "outside/run": "#!/bin/sh\n",
		rc + "user/type": "bundle\n", rc + "user/contents.d/app": "",
		rc + "user2/type": "bundle\n",
		"etc/s6-overlay/user-bundles.d/user2/contents.d/late":   "",
		"etc/s6-overlay/user-bundles.d/user/contents.d/app-log": "",
		"etc/services.d/legacy/run":                             "#!/bin/sh\n",
	}), "")
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	if pl, ok := d.Get("app-pipeline"); !ok || pl.Type != Bundle || !reflect.DeepEqual(pl.Contents, []string{"app-log", "app"}) {
		t.Fatalf("the pipeline's bundle: %+v %v", pl, ok)
	}
	if !d.S6rc || !reflect.DeepEqual(d.User, []string{"app", "app-log"}) || !reflect.DeepEqual(d.User2, []string{"late"}) {
		t.Fatalf("S6rc %v user %v user2 %v", d.S6rc, d.User, d.User2)
	}
	p, probs := MakePlan(d)
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	want := "init-config init-echo init-noop app legacy late"
	if got := strings.Join(unitNames(p), " "); got != want {
		t.Fatalf("start order %q, want %q", got, want)
	}
	if !reflect.DeepEqual(p.Unused, []string{layout.S6rcDir + "/outside"}) {
		t.Fatalf("unused %v, want [%s/outside]", p.Unused, layout.S6rcDir)
	}
	app, _ := p.Get("app")
	if lg, _ := d.Get("app-log"); app.Logger != "app-log" || app.LoggerHost != lg.Host || !reflect.DeepEqual(app.Deps, []string{"init-noop"}) {
		t.Fatalf("app: logger %q at %q deps %v", app.Logger, app.LoggerHost, app.Deps)
	}
	legacy, _ := p.Get("legacy")
	if !reflect.DeepEqual(legacy.Deps, []string{"app", "init-config", "init-echo", "init-noop"}) {
		t.Fatalf("legacy (services.d) deps %v: want every unit of the user bundle", legacy.Deps)
	}
	late, _ := p.Get("late")
	if !reflect.DeepEqual(late.Deps, []string{"legacy"}) {
		t.Fatalf("late (user2) deps %v: want the services.d services", late.Deps)
	}
	echo, _ := p.Get("init-echo")
	if echo.Type != Oneshot || echo.Up != "echo hello\n" || echo.Down != "echo bye\n" || echo.TimeoutUp != NoTimeout {
		t.Fatalf("init-echo %+v", echo)
	}
	if c, _ := p.Get("init-config"); c.TimeoutUp.Milliseconds() != 3000 {
		t.Fatalf("init-config timeout-up %v", c.TimeoutUp)
	}
	// The later stages read the plan back from its record: the same
	// plan, Get included.
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var back Plan
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, p) {
		t.Fatalf("plan read back\n%+v\nwant\n%+v", back, p)
	}
	if u, ok := back.Get("app"); !ok || u.Logger != "app-log" {
		t.Fatalf("Get(app) on the plan read back: %+v %v", u, ok)
	}
}

func TestS6rcProblems(t *testing.T) {
	rc := "etc/s6-overlay/s6-rc.d/"
	_, probs := Load(tree(t, map[string]string{
		rc + "a/type": "longrn\n", rc + "c/type": "oneshot\n",
		rc + "d/run": "x", rc + "e/type": "oneshot\n", rc + "e/up": "x", rc + "e/timeout-up": "soon\n",
	}), "")
	want := []string{
		`/etc/s6-overlay/s6-rc.d/a/type:1: unknown type "longrn"`,
		`/etc/s6-overlay/s6-rc.d/c: oneshot without up`,
		`/etc/s6-overlay/s6-rc.d/d: no type file`,
		`/etc/s6-overlay/s6-rc.d/e/timeout-up:1: want a whole number of milliseconds`,
	}
	if len(probs) != len(want) {
		t.Fatalf("problems %v, want %d", probs, len(want))
	}
	for i, p := range probs {
		if !strings.HasPrefix(p.Error(), want[i]) {
			t.Errorf("problem %q, want %q...", p.Error(), want[i])
		}
	}
}

func TestServicesDSymlinkAndClash(t *testing.T) {
	d, probs := Load(tree(t, map[string]string{
		"etc/services-available/web/run": "#!/bin/sh\n",
		"etc/services.d/web":             "-> /etc/services-available/web",
		"etc/services.d/gone":            "-> /etc/services-available/gone",
		"etc/ignity/services/dup/run":    "x",
		"etc/services.d/dup/run":         "x",
	}), "")
	web, ok := d.Get("web")
	if !ok || web.Source != ServicesD || !strings.HasSuffix(web.Host, "/etc/services-available/web") {
		t.Fatalf("web %+v %v", web, ok)
	}
	var got []string
	for _, p := range probs {
		got = append(got, p.Error())
	}
	if len(got) != 2 || !strings.HasPrefix(got[0], "/etc/services.d/dup: service \"dup\" is also defined as /etc/ignity/services/dup") || !strings.HasPrefix(got[1], "/etc/services.d/gone: dangling") {
		t.Fatalf("problems %q", got)
	}
}

// TestHundredInTenLevels: 100 services, each of level n depending on every
// one of level n-1.
func TestHundredInTenLevels(t *testing.T) {
	files := map[string]string{}
	for l := 0; l < 10; l++ {
		for i := 0; i < 10; i++ {
			n := name(l, i)
			files["etc/ignity/services/"+n+"/run"] = "x"
			if l > 0 {
				var deps []string
				for j := 0; j < 10; j++ {
					deps = append(deps, name(l-1, j))
				}
				files["etc/ignity/services/"+n+"/dependencies"] = strings.Join(deps, "\n")
			}
		}
	}
	p, probs := plan(t, files)
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	if p.Levels() != 10 || len(p.Units) != 100 {
		t.Fatalf("%d levels, %d units", p.Levels(), len(p.Units))
	}
	for _, u := range p.Units {
		if want := int(u.Name[1] - '0'); u.Level != want {
			t.Fatalf("%s at level %d, want %d", u.Name, u.Level, want)
		}
	}
}

func name(l, i int) string { return "l" + string(rune('0'+l)) + "s" + string(rune('0'+i)) }

// IGNITY_RUNTIME_BUNDLEDIR (S6_RUNTIME_BUNDLEDIR) adds members to the user
// and user2 bundles; without it, the same tree starts nothing of them.
func TestRuntimeBundleDir(t *testing.T) {
	rc := "etc/s6-overlay/s6-rc.d/"
	root := tree(t, map[string]string{
		rc + "app/type": "longrun\n", rc + "app/run": "#!/bin/sh\n",
		rc + "late/type": "longrun\n", rc + "late/run": "#!/bin/sh\n",
		"srv/bundles/user/contents.d/app":   "",
		"srv/bundles/user2/contents.d/late": "",
	})
	d, probs := Load(root, "/srv/bundles")
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	if !reflect.DeepEqual(d.User, []string{"app"}) || !reflect.DeepEqual(d.User2, []string{"late"}) {
		t.Errorf("with the bundle dir: user %v user2 %v, want [app] [late]", d.User, d.User2)
	}
	d, _ = Load(root, "")
	if len(d.User)+len(d.User2) != 0 {
		t.Errorf("without it: user %v user2 %v, want none", d.User, d.User2)
	}
}

// TestLongNames: a longrun's name over MaxName (250 bytes: s6-svscan
// skips names over 251, ignity's state needs 5 bytes of NAME_MAX) is a
// Problem naming its dir, from every source; a oneshot's is not in the
// scandir; a dot name is set aside, as s6-svscan does.
func TestLongNames(t *testing.T) {
	ok, long, longest, other := strings.Repeat("a", MaxName), strings.Repeat("b", 251), strings.Repeat("c", 254), strings.Repeat("d", 252)
	d, probs := Load(tree(t, map[string]string{
		"etc/ignity/services/" + ok + "/run":          "#!/bin/sh\n",
		"etc/ignity/services/" + long + "/run":        "#!/bin/sh\n",
		"etc/ignity/services/.hidden/run":             "#!/bin/sh\n",
		"etc/s6-overlay/s6-rc.d/" + longest + "/type": "longrun\n",
		"etc/s6-overlay/s6-rc.d/" + longest + "/run":  "#!/bin/sh\n",
		"etc/s6-overlay/s6-rc.d/" + long + "x/type":   "oneshot\n",
		"etc/s6-overlay/s6-rc.d/" + long + "x/up":     "true\n",
		"etc/s6-overlay/user/contents.d/" + longest:   "",
		"etc/services.d/" + other + "/run":            "#!/bin/sh\n",
	}), "")
	want := []string{
		layout.IgnityServicesDir + "/" + long + ": a service name of 251 bytes is too long",
		layout.S6rcDir + "/" + longest + ": a service name of 254 bytes is too long",
		layout.ServicesDDir + "/" + other + ": a service name of 252 bytes is too long",
	}
	var got []string
	for _, p := range probs {
		if strings.Contains(p.Error(), "too long") {
			got = append(got, p.Error())
		}
	}
	if len(got) != len(want) {
		t.Fatalf("problems:\n%s\nwant one for each of:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) || !strings.Contains(got[i], "s6-svscan skips names over 251 bytes") || !strings.Contains(got[i], "250 at most") {
			t.Errorf("problem %d = %q, want %q...", i, got[i], want[i])
		}
	}
	if _, listed := d.Get(ok); !listed {
		t.Errorf("the %d-byte name is not listed", MaxName)
	}
	if _, listed := d.Get(".hidden"); listed {
		t.Error("a dot name is listed: s6-svscan skips it")
	}
}

package services

import (
	"reflect"
	"testing"
)

// The shapes of real s6-overlay images (issue 20): s6-rc's older files,
// a funnel, s6-overlay's own source tree, and the CMD's wait.

func TestDependenciesAndContentsFiles(t *testing.T) {
	rc := "etc/s6-overlay/s6-rc.d/"
	p, probs := plan(t, map[string]string{
		rc + "php-fpm/type":        "longrun\n",
		rc + "php-fpm/run":         "#!/bin/sh\n",
		rc + "nginx/type":          "longrun\n",
		rc + "nginx/run":           "#!/bin/sh\n",
		rc + "nginx/dependencies":  "base\n# the app server first\nphp-fpm\n",
		rc + "web/type":            "bundle\n",
		rc + "web/contents":        "nginx\n",
		rc + "user/type":           "bundle\n",
		rc + "user/contents.d/web": "",
		// .d wins where both are present, as in s6-rc.
		rc + "other/type":            "oneshot\n",
		rc + "other/up":              "true\n",
		rc + "other/dependencies":    "nosuch\n",
		rc + "other/dependencies.d/": "",
		rc + "user/contents.d/other": "",
	})
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	nginx, _ := p.Get("nginx")
	if !reflect.DeepEqual(nginx.Deps, []string{"php-fpm"}) {
		t.Errorf("nginx deps %v, want [php-fpm]", nginx.Deps)
	}
	if got := unitNames(p); !reflect.DeepEqual(got, []string{"other", "php-fpm", "nginx"}) {
		t.Errorf("units %v", got)
	}
}

func TestHasDepsS6rc(t *testing.T) {
	rc := "etc/s6-overlay/s6-rc.d/"
	p, probs := plan(t, map[string]string{
		rc + "web/type":            "longrun\n",
		rc + "web/run":             "#!/bin/sh\n",
		rc + "user/type":           "bundle\n",
		rc + "user/contents.d/web": "",
	})
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	if !p.HasDeps() {
		t.Error("a user bundle member without dependencies: the CMD must wait for it, as s6-overlay's does")
	}
	p, _ = plan(t, map[string]string{"etc/services.d/web/run": "#!/bin/sh\n"})
	if p.HasDeps() {
		t.Error("services.d alone: the CMD waits only with IGNITY_CMD_WAIT_FOR_SERVICES")
	}
}

func TestFunnel(t *testing.T) {
	rc := "etc/s6-overlay/s6-rc.d/"
	files := map[string]string{
		rc + "log/type":             "longrun\n",
		rc + "log/run":              "#!/bin/sh\n",
		rc + "log/consumer-for":     "a\nb\n",
		rc + "log/pipeline-name":    "pipe\n",
		rc + "user/type":            "bundle\n",
		rc + "user/contents.d/pipe": "",
	}
	for _, n := range []string{"a", "b"} {
		files[rc+n+"/type"] = "longrun\n"
		files[rc+n+"/run"] = "#!/bin/sh\n"
		files[rc+n+"/producer-for"] = "log\n"
	}
	p, probs := plan(t, files)
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	if got := unitNames(p); !reflect.DeepEqual(got, []string{"a", "b", "log"}) {
		t.Fatalf("units %v, want the two producers and the one consumer", got)
	}
	for _, n := range []string{"a", "b"} {
		if u, _ := p.Get(n); u.Feeds != "log" || u.Logger != "" {
			t.Errorf("%s: feeds %q, logger %q; want feeds log, no logger", n, u.Feeds, u.Logger)
		}
	}
	if u, _ := p.Get("log"); !u.Fed {
		t.Error("log is not marked as a funnel's consumer")
	}
}

func TestAdminSources(t *testing.T) {
	src := "package/admin/s6-overlay-3.1.6.2/etc/s6-rc/sources/"
	p, probs := plan(t, map[string]string{
		src + "banner/type":                       "oneshot\n",
		src + "banner/up":                         "echo hi\n",
		src + "base/contents.d/banner":            "",
		src + "user/contents.d/addon":             "",
		"etc/s6-overlay/s6-rc.d/addon/type":       "longrun\n",
		"etc/s6-overlay/s6-rc.d/addon/run":        "#!/bin/sh\n",
		"etc/s6-overlay/s6-rc.d/user/type":        "bundle\n",
		"etc/s6-overlay/s6-rc.d/user/contents.d/": "",
		// s6-overlay's own symlink to its versioned dir: read once.
		"package/admin/s6-overlay": "-> s6-overlay-3.1.6.2",
	})
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	if got := order(p); !reflect.DeepEqual(got, map[string]int{"banner": 0, "addon": 1}) {
		t.Errorf("levels %v: want the base bundle's banner before user's addon", got)
	}
}

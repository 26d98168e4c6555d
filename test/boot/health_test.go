package boot_test

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ignity/ignity/internal/boottest"
	"github.com/ignity/ignity/internal/harness"
)

// probe is how a Kubernetes exec probe or Docker HEALTHCHECK runs ignity
// health: a bare environment, any uid of the container.
const probe = `env -i PATH=/usr/bin:/bin s6-setuidgid 65534:65534 ignity health`

// TestStatusAndHealth: status --json's fields; health 0 when all is well,
// still 0 once a service is taken down with s6-svc -d (not wanted up),
// 1 naming the service whose health program fails, run as uid 65534 from
// an empty environment.
func TestStatusAndHealth(t *testing.T) {
	t.Run("writable root", func(t *testing.T) { statusAndHealth(t, harness.Options{Timeout: boottest.Short}) })
	// A read-only root with a noexec tmpfs at /run/ignity: health programs
	// run through the noexec fallback.
	t.Run("read-only noexec", func(t *testing.T) {
		statusAndHealth(t, harness.Options{Timeout: boottest.Short, ReadOnly: true, Tmpfs: []string{"/run/ignity:mode=1777,noexec", "/tmp:mode=1777"}})
	})
}

func statusAndHealth(t *testing.T, o harness.Options) {
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		boottest.Script(t, r, "/etc/ignity/services/web/run", "#!/bin/sh\nexec sleep 1000\n")
		boottest.Script(t, r, "/etc/ignity/services/web/health", "#!/bin/sh\n[ ! -e /tmp/sick ]\n")
		boottest.File(t, r, "/etc/ignity/services/web/essential", "")
		boottest.Script(t, r, "/etc/ignity/services/other/run", "#!/bin/sh\nexec sleep 1000\n")
		res := r.Boot(t, o, "/init", "sh", "-c", `
			i=0; until `+probe+` >/dev/null; do i=$((i+1)); [ $i -gt 500 ] && exit 98; sleep 0.01; done
			echo "health-ok=$?"
			echo "JSON $(ignity status --json)"
			echo "SVSTAT $(s6-svstat -o pid,wantedup /run/ignity/services-state/web)"
			ignity status
			s6-svc -d /run/ignity/services-state/other && s6-svwait -D -t 5000 /run/ignity/services-state/other
			`+probe+`; echo "health-after-down=$?"
			touch /tmp/sick
			`+probe+`; echo "health-sick=$?"`)
		boottest.WantExit(t, res, 0)
		boottest.WantOutput(t, res, "health-ok=0", "health-after-down=0", "health-sick=1", "web: /run/ignity/services-state/web/health exited 1")
		var rep struct {
			Version  int `json:"version"`
			Services []struct {
				Name      string `json:"name"`
				State     string `json:"state"`
				Pid       int    `json:"pid"`
				UptimeMs  int64  `json:"uptime_ms"`
				Restarts  int    `json:"restarts"`
				WantedUp  bool   `json:"wanted_up"`
				Essential bool   `json:"essential"`
				Health    bool   `json:"health"`
			} `json:"services"`
			Cmd *struct {
				State string `json:"state"`
				Pid   int    `json:"pid"`
			} `json:"cmd"`
		}
		_, js, ok := strings.Cut(res.Stdout, "JSON ")
		if !ok {
			t.Fatalf("no status --json output:\n%s", res)
		}
		js, _, _ = strings.Cut(js, "\n")
		if err := json.Unmarshal([]byte(js), &rep); err != nil {
			t.Fatalf("status --json: %v: %q", err, js)
		}
		if rep.Version != 1 || len(rep.Services) != 2 || rep.Cmd == nil || rep.Cmd.State != "up" || rep.Cmd.Pid <= 0 {
			t.Fatalf("status --json: %+v", rep)
		}
		// The parser of supervise/status against s6-svstat's own reading.
		_, sv, _ := strings.Cut(res.Stdout, "SVSTAT ")
		sv, _, _ = strings.Cut(sv, "\n")
		for _, s := range rep.Services {
			if s.Name == "web" && sv != strconv.Itoa(s.Pid)+" true" {
				t.Errorf("s6-svstat -o pid,wantedup says %q, status --json pid %d wanted_up %v", sv, s.Pid, s.WantedUp)
			}
		}
		for _, s := range rep.Services {
			if s.State != "up" || s.Pid <= 0 || !s.WantedUp || s.Restarts != 0 || s.UptimeMs < 0 || s.UptimeMs > 10000 {
				t.Errorf("service %+v", s)
			}
			if (s.Name == "web") != s.Essential || (s.Name == "web") != s.Health {
				t.Errorf("service %s: essential %v, health %v", s.Name, s.Essential, s.Health)
			}
		}
	})
}

// TestHealthCrashLoop: a service past the crash-loop limit is "failed" in
// status --json and health exits 1 naming it, run as uid 65534.
func TestHealthCrashLoop(t *testing.T) {
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		boottest.Script(t, r, "/etc/ignity/services/crash/run", "#!/bin/sh\nexit 1\n")
		boottest.Script(t, r, "/etc/ignity/services/fine/run", "#!/bin/sh\nexec sleep 1000\n")
		res := r.Boot(t, harness.Options{Timeout: 20 * time.Second, Env: boottest.Env("IGNITY_SERVICE_MAX_DEATHS=2", "IGNITY_RESTART_BACKOFF_MAX=0")}, "/init", "sh", "-c", `
			i=0; while [ ! -e /run/ignity/.state/failed/crash ]; do i=$((i+1)); [ $i -gt 1500 ] && exit 99; sleep 0.01; done
			s6-svwait -D -t 5000 /run/ignity/services-state/crash
			`+probe+`; echo "health=$?"
			echo "JSON $(ignity status --json)"`)
		boottest.WantExit(t, res, 0)
		boottest.WantOutput(t, res, "crash: failed: died 2 times", "health=1")
		boottest.WantNoOutput(t, res, "fine:")
		_, js, _ := strings.Cut(res.Stdout, "JSON ")
		js, _, _ = strings.Cut(js, "\n")
		var rep struct {
			Services []struct{ Name, State string } `json:"services"`
		}
		if err := json.Unmarshal([]byte(js), &rep); err != nil || len(rep.Services) != 2 || rep.Services[0].Name != "crash" || rep.Services[0].State != "failed" || rep.Services[1].State != "up" {
			t.Errorf("status --json: %v %q", err, js)
		}
	})
}

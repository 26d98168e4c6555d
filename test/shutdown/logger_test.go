package shutdown_test

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ignity/ignity/internal/boottest"
	"github.com/ignity/ignity/internal/harness"
)

// logged writes a service whose output goes to s6-log in /var/log/<name>.
func logged(t *testing.T, r *harness.Root, name, run string) {
	t.Helper()
	mkdir(t, r, "/var/log")
	boottest.Script(t, r, "/etc/ignity/services/"+name+"/run", run)
	boottest.Script(t, r, "/etc/ignity/services/"+name+"/log/run", "#!/bin/sh\nexec s6-log /var/log/"+name+"\n")
}

// SIGQUIT stops the loggers together with their services, as s6 does,
// instead of letting them drain. The service leaves a child that holds
// the log pipe open: a logger only told to exit once its service is down
// (SIGTERM's way) would wait for an end of file that comes only with the
// final signals, after IGNITY_SERVICES_GRACETIME.
func TestSigquitStopsLoggers(t *testing.T) {
	serially(t, func(t *testing.T, r *harness.Root) {
		logged(t, r, "x", "#!/bin/sh\necho x-started\nsleep 1000 &\nexec sleep 1000\n")
		p := r.Start(t, harness.Options{Timeout: boottest.Short}, "/init")
		p.WaitOutput(t, servicesUp, boottest.Short)
		harness.PollUntil(t, boottest.Short, "x-started in /var/log/x/current", func() bool {
			return boottest.Exists(r, "/var/log/x/current") &&
				strings.Contains(boottest.Read(t, r, "/var/log/x/current"), "x-started")
		})
		res, d := stop(t, p, syscall.SIGQUIT)
		boottest.WantExit(t, res, 0)
		boottest.WantOutput(t, res, lastLine)
		within(t, "SIGQUIT to exit", d, 0, time.Second, res)
	})
}

// On SIGTERM a logger outlives its service and drains the pipe: every
// line the service writes while it stops reaches the log.
func TestLoggerDrainsOnSigterm(t *testing.T) {
	const n = 200
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		logged(t, r, "drain", "#!/bin/sh\n"+
			fmt.Sprintf("trap 'i=0; while [ $i -lt %d ]; do echo \"line $i\"; i=$((i+1)); done; exit 0' TERM\n", n)+
			"echo drain-started\nwhile :; do sleep 0.05; done\n")
		p := r.Start(t, harness.Options{Timeout: boottest.Short}, "/init")
		p.WaitOutput(t, servicesUp, boottest.Short)
		harness.PollUntil(t, boottest.Short, "drain-started in /var/log/drain/current", func() bool {
			return boottest.Exists(r, "/var/log/drain/current") &&
				strings.Contains(boottest.Read(t, r, "/var/log/drain/current"), "drain-started")
		})
		res, _ := stop(t, p, syscall.SIGTERM)
		boottest.WantExit(t, res, 0)
		boottest.WantOutput(t, res, lastLine)
		got := boottest.Read(t, r, "/var/log/drain/current")
		var missing []int
		for i := range n {
			if !strings.Contains(got, fmt.Sprintf("line %d\n", i)) {
				missing = append(missing, i)
			}
		}
		if len(missing) > 0 {
			t.Errorf("%d of %d lines missing from the log, the first: line %d\n--- current ---\n%s\n%s",
				len(missing), n, missing[0], got, res)
		}
	})
}

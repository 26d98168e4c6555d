package bench_test

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"testing"

	"github.com/ignity/ignity/internal/boottest"
	"github.com/ignity/ignity/internal/harness"
)

var healthSpan = regexp.MustCompile(`HEALTH (\S+) (\S+) (\d+)`)

// TestBenchHealth: the cost of one `ignity health` with 10 services and no
// health program (one process, reading 10 supervise/status files), as an
// exec probe runs it: 200 runs timed by /proc/uptime in the container.
func TestBenchHealth(t *testing.T) {
	if os.Getenv("IGNITY_BENCH") != "1" {
		t.Skip("benchmark: set IGNITY_BENCH=1 (task bench)")
	}
	harness.RequireRoot(t)
	r := boottest.NewRoot(t, harness.Busybox, harness.Tarball(t))
	for i := 0; i < 10; i++ {
		boottest.Script(t, r, fmt.Sprintf("/etc/ignity/services/s%d/run", i), "#!/bin/sh\nexec sleep 1000\n")
	}
	const runs = 200
	res := r.Boot(t, harness.Options{Timeout: 60e9}, "/init", "sh", "-c", `
		i=0; until ignity health >/dev/null; do i=$((i+1)); [ $i -gt 1000 ] && exit 98; sleep 0.01; done
		a=$(cut -d' ' -f1 /proc/uptime); n=0
		while [ $n -lt `+strconv.Itoa(runs)+` ]; do env -i PATH=/usr/bin:/bin ignity health || exit 97; n=$((n+1)); done
		b=$(cut -d' ' -f1 /proc/uptime); echo "HEALTH $a $b $n"`)
	boottest.WantExit(t, res, 0)
	m := healthSpan.FindStringSubmatch(res.Stdout)
	if m == nil {
		t.Fatalf("no HEALTH line:\n%s", res)
	}
	a, _ := strconv.ParseFloat(m[1], 64)
	b, _ := strconv.ParseFloat(m[2], 64)
	t.Logf("ignity health, 10 services, no health program: %.2f ms per run (mean of %d, env -i included)", (b-a)*1000/runs, runs)
}

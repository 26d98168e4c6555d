package shutdown_test

import (
	"regexp"
	"strconv"
	"testing"

	"github.com/ignity/ignity/internal/boottest"
	"github.com/ignity/ignity/internal/harness"
)

// reapScript double-forks 50 short sleeps, which the kernel hands to
// PID 1 when their subshells exit, waits until no orphan is left among
// PID 1's children (the CMD's waiter, $PPID, aside), then counts zombies
// in the whole namespace. An orphan is a child of PID 1 in /proc, live
// or zombie, so the wait only ends once PID 1 has reaped them all.
const reapScript = `
orphans() {
	n=0
	for f in /proc/[0-9]*/stat; do
		{ read -r pid comm state ppid rest < "$f"; } 2>/dev/null || continue
		[ "$ppid" = 1 ] && [ "$pid" != "$PPID" ] && n=$((n+1))
	done
	echo $n
}
zombies() {
	n=0
	for f in /proc/[0-9]*/stat; do
		{ read -r pid comm state rest < "$f"; } 2>/dev/null || continue
		[ "$state" = Z ] && n=$((n+1))
	done
	echo $n
}
i=0; while [ $i -lt 50 ]; do (sleep 0.2 &); i=$((i+1)); done
echo "orphans-seen=$(orphans)"
i=0; while [ "$(orphans)" -gt 0 ] && [ $i -lt 500 ]; do sleep 0.01; i=$((i+1)); done
echo "orphans-left=$(orphans)"
echo "zombies=$(zombies)"
`

// Orphans that die while the container runs are reaped by PID 1
// (s6-svscan): none stays a zombie.
func TestOrphansReaped(t *testing.T) {
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		res := r.Boot(t, harness.Options{Timeout: boottest.Short}, "/init", "sh", "-c", reapScript)
		boottest.WantExit(t, res, 0)
		count := func(name string) int {
			m := regexp.MustCompile(`(?m)^` + name + `=(\d+)$`).FindStringSubmatch(res.Output)
			if m == nil {
				t.Fatalf("output lacks %s=N\n%s", name, res)
			}
			n, _ := strconv.Atoi(m[1])
			return n
		}
		seen, left, zombies := count("orphans-seen"), count("orphans-left"), count("zombies")
		t.Logf("orphans seen %d, left %d, zombies %d", seen, left, zombies)
		if seen == 0 {
			t.Errorf("no orphan became a child of PID 1: the test proves nothing\n%s", res)
		}
		if left != 0 || zombies != 0 {
			t.Errorf("%d orphans left and %d zombies after the sleeps ended, want 0\n%s", left, zombies, res)
		}
	})
}

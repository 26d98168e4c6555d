package runstate

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ignity/ignity/pkg/services"
)

// status packs a supervise/status as s6-supervise 2.13 does.
func status(pid int, wstat uint16, flags byte, since time.Time) []byte {
	b := make([]byte, 43)
	for _, off := range []int{0, 12} {
		binary.BigEndian.PutUint64(b[off:], uint64(1<<62+since.Unix()+37))
	}
	binary.BigEndian.PutUint64(b[24:], uint64(pid))
	binary.BigEndian.PutUint64(b[32:], uint64(pid))
	binary.BigEndian.PutUint16(b[40:], wstat)
	b[42] = flags
	return b
}

func TestCondition(t *testing.T) {
	now := time.Now()
	const (
		wantUp    = 4
		ready     = 8
		finishing = 2
	)
	tests := []struct {
		name     string
		status   []byte // nil: no supervise/status
		inScan   bool
		typ      services.Type
		notify   bool
		unit     UnitState
		failed   bool
		restarts *Restarts
		deaths   int // entries of supervise/death_tally
		word     string
		count    int
		backoff  bool
	}{
		{name: "up", status: status(42, 0, wantUp, now), inScan: true, word: "up"},
		{name: "ready", status: status(42, 0, wantUp|ready, now), inScan: true, notify: true, word: "ready"},
		{name: "up, not ready yet", status: status(42, 0, wantUp, now), inScan: true, notify: true, word: "up"},
		{name: "ready flag without notification-fd", status: status(42, 0, wantUp|ready, now), inScan: true, word: "up"},
		{name: "down", status: status(0, 3<<8, wantUp|ready, now), inScan: true, word: "down"},
		{name: "finishing", status: status(42, 0, wantUp|finishing, now), inScan: true, word: "finishing"},
		{name: "not supervised yet", inScan: true, word: "down"},
		{name: "failed for good", status: status(0, 1<<8, 0, now), inScan: true, failed: true, word: "failed"},
		{name: "failed wins over backoff", status: status(42, 0, wantUp, now), inScan: true, failed: true,
			restarts: &Restarts{Deaths: 3, Until: now.Add(time.Minute)}, word: "failed", count: 3, backoff: true},
		{name: "backoff", status: status(42, 0, wantUp, now), inScan: true,
			restarts: &Restarts{Deaths: 2, Until: now.Add(time.Minute)}, word: "backoff", count: 2, backoff: true},
		{name: "backoff over", status: status(42, 0, wantUp, now), inScan: true,
			restarts: &Restarts{Deaths: 2, Until: now.Add(-time.Second)}, word: "up", count: 2},
		{name: "s6's death tally", status: status(42, 0, wantUp, now), inScan: true, deaths: 5, word: "up", count: 5},
		{name: "ignity's count over s6's", status: status(42, 0, wantUp, now), inScan: true, deaths: 5,
			restarts: &Restarts{Deaths: 7}, word: "up", count: 7},
		{name: "held in the scandir", status: status(0, 0, 0, now), inScan: true, unit: UnitWaiting, word: "waiting"},
		{name: "held, not supervised yet", inScan: true, unit: UnitWaiting, word: "waiting"},
		{name: "longrun held out of the scandir", typ: services.Longrun, word: "waiting"},
		{name: "longrun that never came up", typ: services.Longrun, unit: UnitFailed, word: "failed"},
		{name: "oneshot not run yet", typ: services.Oneshot, word: "waiting"},
		{name: "oneshot waiting", typ: services.Oneshot, unit: UnitWaiting, word: "waiting"},
		{name: "oneshot running", typ: services.Oneshot, unit: UnitRunning, word: "running"},
		{name: "oneshot done", typ: services.Oneshot, unit: UnitStarted, word: "done"},
		{name: "oneshot failed", typ: services.Oneshot, unit: UnitFailed, word: "failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := created(t)
			const name = "web"
			dir := ""
			if tt.inScan {
				dir = filepath.Join(t.TempDir(), name)
				if err := os.MkdirAll(filepath.Join(dir, "supervise"), 0o755); err != nil {
					t.Fatal(err)
				}
				if tt.status != nil {
					if err := os.WriteFile(filepath.Join(dir, "supervise", "status"), tt.status, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				if err := os.WriteFile(filepath.Join(dir, "supervise", "death_tally"), make([]byte, 14*tt.deaths), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if tt.unit != "" {
				if err := s.SetUnit(name, tt.unit, "why"); err != nil {
					t.Fatal(err)
				}
			}
			if tt.failed {
				if err := s.MarkFailed(name, "5 deaths in 10 s"); err != nil {
					t.Fatal(err)
				}
			}
			if tt.restarts != nil {
				if err := s.SetRestarts(name, *tt.restarts); err != nil {
					t.Fatal(err)
				}
			}
			typ := tt.typ
			if typ == "" {
				typ = services.Longrun
			}
			c := s.Condition(name, dir, now)
			if got := c.Word(typ, tt.notify); got != tt.word {
				t.Errorf("Word = %q, want %q (%+v)", got, tt.word, c)
			}
			if c.Restarts != tt.count {
				t.Errorf("Restarts = %d, want %d", c.Restarts, tt.count)
			}
			if (c.Backoff > 0) != tt.backoff {
				t.Errorf("Backoff = %v, want one: %v", c.Backoff, tt.backoff)
			}
			if c.Failed != tt.failed || (tt.failed && c.Why != "5 deaths in 10 s") {
				t.Errorf("Failed = %v %q, want %v", c.Failed, c.Why, tt.failed)
			}
			if c.Supervised() != (tt.status != nil) {
				t.Errorf("Supervised = %v with status %v", c.Supervised(), tt.status != nil)
			}
			if tt.unit != "" && (c.Unit != tt.unit || c.UnitDetail != "why") {
				t.Errorf("Unit = %q %q, want %q why", c.Unit, c.UnitDetail, tt.unit)
			}
		})
	}
}

package runstate

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/ignity/ignity/pkg/services"
)

func TestPlanAndUnits(t *testing.T) {
	s := created(t)
	if _, ok, err := s.Plan(); ok || err != nil {
		t.Fatalf("Plan before SetPlan: ok %v err %v, want none", ok, err)
	}
	var plan services.Plan
	if err := json.Unmarshal([]byte(`{"units": [
		{"name": "init", "type": "oneshot", "level": 0, "down": "echo bye", "down_from": "/etc/s6-overlay/s6-rc.d/init/down", "timeout_down": -1},
		{"name": "web", "type": "longrun", "deps": ["init"], "level": 1, "notify": true}]}`), &plan); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPlan(plan); err != nil {
		t.Fatal(err)
	}
	got, ok, err := s.Plan()
	if !ok || err != nil || !reflect.DeepEqual(got, plan) {
		t.Fatalf("Plan = %+v %v %v, want %+v", got, ok, err, plan)
	}
	if u, ok := got.Get("web"); !ok || u.Level != 1 || !u.Notify {
		t.Fatalf("Get(web) = %+v %v", u, ok)
	}
	if _, _, ok := s.UnitOf("web"); ok {
		t.Fatal("UnitOf before SetUnit: ok")
	}
	if err := s.SetUnit("web", UnitFailed, "dependency init failed\nbadly"); err != nil {
		t.Fatal(err)
	}
	if st, detail, ok := s.UnitOf("web"); !ok || st != UnitFailed || detail != "dependency init failed badly" {
		t.Fatalf("UnitOf = %q %q %v", st, detail, ok)
	}
	if err := os.WriteFile(filepath.Join(s.stateDir(), filePlan), []byte("[{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Plan(); err == nil {
		t.Fatal("a torn plan read without error")
	}
}

// TestEmptyPlan: the plan of an image without definitions is recorded as
// an empty file, and read back as a recorded, empty plan.
func TestEmptyPlan(t *testing.T) {
	s := created(t)
	if err := s.SetPlan(services.Plan{}); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(s.stateDir(), filePlan)); err != nil || len(b) != 0 {
		t.Fatalf("plan file %q, %v; want an empty file", b, err)
	}
	got, ok, err := s.Plan()
	if !ok || err != nil || len(got.Units) != 0 || len(got.Unused) != 0 {
		t.Fatalf("Plan = %+v %v %v, want a recorded, empty plan", got, ok, err)
	}
}

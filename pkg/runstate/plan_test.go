package runstate

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestPlanAndUnits(t *testing.T) {
	s := created(t)
	if _, ok, err := s.Plan(); ok || err != nil {
		t.Fatalf("Plan before SetPlan: ok %v err %v, want none", ok, err)
	}
	units := []Unit{
		{Name: "init", Type: "oneshot", Level: 0, Down: "echo bye", DownFrom: "/etc/s6-overlay/s6-rc.d/init/down", TimeoutDownMs: -1},
		{Name: "web", Type: "longrun", Deps: []string{"init"}, Level: 1, Notify: true},
	}
	if err := s.SetPlan(units); err != nil {
		t.Fatal(err)
	}
	got, ok, err := s.Plan()
	if !ok || err != nil || !reflect.DeepEqual(got, units) {
		t.Fatalf("Plan = %+v %v %v, want %+v", got, ok, err, units)
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

package runstate

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ignity/ignity/pkg/services"
)

// The start plan of the boot, recorded by stage1 (from the definitions
// its check read) and again by stage2 when its hook may have changed
// them, for stage2, for stage3 (which stops the services in reverse order
// and runs the oneshots' down lines) and for ignity status, health and
// s6-rc (dependencies, what a waiting service waits for), and the state
// of each unit the ordered start has dealt with.
const PlanLimit = 1 << 20 // bytes: a plan read back is at most this long

// UnitState is where the ordered start is with one unit.
type UnitState string

const (
	UnitWaiting UnitState = "waiting" // held until its dependencies count as started
	UnitRunning UnitState = "running" // a oneshot's up runs
	UnitStarted UnitState = "started" // a longrun handed to s6, or a oneshot's up exited 0
	UnitFailed  UnitState = "failed"  // a oneshot's up failed, or the longrun never came up
)

// SetPlan records the start plan, before stage2 reads it. The plan of an
// image without definitions is an empty file: a process's first JSON
// encoding or decoding costs it about 0.1 ms, which a bare `/init CMD`
// need not pay twice.
func (s State) SetPlan(plan services.Plan) error {
	var b []byte // an image without definitions: an empty file
	if len(plan.Units) > 0 || len(plan.Unused) > 0 {
		var err error
		if b, err = json.Marshal(plan); err != nil {
			return err
		}
	}
	if err := s.replace("", filePlan, readableFile, b); err != nil {
		return fmt.Errorf("record the start plan: %w", err)
	}
	return nil
}

// Plan reads the start plan; ok is false when the boot recorded none
// (it did not get that far).
func (s State) Plan() (services.Plan, bool, error) {
	b, err := s.readIn("", filePlan, PlanLimit)
	if errors.Is(err, os.ErrNotExist) {
		return services.Plan{}, false, nil
	}
	if err != nil {
		return services.Plan{}, false, fmt.Errorf("read the start plan: %w", err)
	}
	var plan services.Plan
	if len(b) == 0 {
		return plan, true, nil // no definitions (see SetPlan)
	}
	if err := json.Unmarshal(b, &plan); err != nil {
		return services.Plan{}, false, fmt.Errorf("read the start plan %s: %w", filepath.Join(s.stateDir(), filePlan), err)
	}
	return plan, true, nil
}

// SetUnit records the state of the unit name, with an optional detail
// (why it failed).
func (s State) SetUnit(name string, st UnitState, detail string) error {
	v := string(st)
	if detail != "" {
		v += " " + strings.ReplaceAll(detail, "\n", " ")
	}
	if err := s.replace(dirUnits, name, readableFile, []byte(v+"\n")); err != nil {
		return fmt.Errorf("record the state of %s: %w", name, err)
	}
	return nil
}

// UnitOf reads the state of the unit name; ok is false when the ordered
// start never recorded one.
func (s State) UnitOf(name string) (st UnitState, detail string, ok bool) {
	v, ok := s.read(dirUnits, name)
	if !ok {
		return "", "", false
	}
	a, b, _ := strings.Cut(v, " ")
	return UnitState(a), b, true
}

package config

import "testing"

// TestReferenceComplete: every knob of the table has a description for the knob reference,
// and no description names a knob the table lacks.
func TestReferenceComplete(t *testing.T) {
	for _, k := range Reference() {
		if k.Doc == "" || k.Unit == "" || k.Range == "" {
			t.Errorf("%s: no description in knobDocs (pkg/config/doc.go): add its unit, range and doc", k.Name)
		}
	}
	for name := range knobDocs {
		if !Known(name) {
			t.Errorf("knobDocs describes %s, which is not in the knob table", name)
		}
	}
	for _, k := range Reference() {
		if k.Name == "IGNITY_BEHAVIOUR_IF_STAGE2_FAILS" && (k.Alias != "S6_BEHAVIOUR_IF_STAGE2_FAILS" || k.OverlayDefault != "0") {
			t.Errorf("%s: alias %q, s6-overlay default %q; want S6_BEHAVIOUR_IF_STAGE2_FAILS and 0", k.Name, k.Alias, k.OverlayDefault)
		}
	}
}

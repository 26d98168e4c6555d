package services

import "testing"

// TestDownLines: the oneshots whose down line runs something, and no
// longrun, count as finalize scripts.
func TestDownLines(t *testing.T) {
	p := Plan{Units: []Unit{
		{Name: "a", Type: Oneshot, Down: "echo a"},
		{Name: "b", Type: Oneshot, Down: "# nothing\n"},
		{Name: "c", Type: Oneshot},
		{Name: "d", Type: Longrun, Down: "echo d"},
		{Name: "e", Type: Oneshot, Down: "foreground { echo e } true"},
	}}
	if got := p.DownLines(); got != 2 {
		t.Errorf("DownLines = %d, want 2 (a and e)", got)
	}
}

package main

import (
	"testing"

	"github.com/ignity/ignity/internal/docgen"
)

// TestAppletReference: docs/reference/applets.md is what the applet table generates (its
// visible applets, in order); IGNITY_DOCS_WRITE=1 (task docs) writes it.
func TestAppletReference(t *testing.T) {
	var as []docgen.Applet
	for _, a := range table() {
		if !a.hidden {
			as = append(as, docgen.Applet{Name: a.name, Usage: a.usage})
		}
	}
	docgen.Check(t, "docs/reference/applets.md", docgen.Applets(as))
}

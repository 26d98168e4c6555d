package main

// The applet reference, docs/reference/applets.md, is generated from table() by
// TestAppletReference (see internal/docgen).
//go:generate env IGNITY_DOCS_WRITE=1 go test -count=1 -run ^TestAppletReference$ .

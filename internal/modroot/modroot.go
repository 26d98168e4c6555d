// Package modroot finds the module's root directory, the one holding
// go.mod, from a package directory as go test runs it. It imports the
// standard library only: test/readme, which the examples/kubernetes
// module imports too, uses it.
package modroot

import (
	"fmt"
	"os"
	"path/filepath"
)

// Find walks up from the working directory to the nearest directory
// holding go.mod.
func Find() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory %s", dir)
		}
		dir = parent
	}
}

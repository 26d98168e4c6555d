package applets

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/ignity/ignity/pkg/check"
	"github.com/ignity/ignity/pkg/layout"
)

// Check is `ignity check [--root DIR]`: it prints every problem of the
// image's configuration to w, one per line, and exits 0 when clean
// (warnings alone pass), 1 with errors, 100 on usage errors.
func Check(args []string, w io.Writer) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	root := fs.String("root", "/", "root of the image to check")
	if err := fs.Parse(args); err != nil {
		return UsageError(err.Error())
	}
	if fs.NArg() > 0 {
		return UsageError("unexpected argument " + fs.Arg(0))
	}
	if st, err := os.Stat(*root); err != nil || !st.IsDir() {
		return UsageError("--root " + *root + ": not a directory")
	}
	problems := check.Run(layout.Layout{Root: *root}, os.Environ(), true)
	for _, p := range problems {
		fmt.Fprintln(w, p)
	}
	if check.HasError(problems) {
		return ExitCode(1)
	}
	return nil
}

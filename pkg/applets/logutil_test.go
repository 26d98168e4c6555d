package applets

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/ignity/ignity/pkg/config"
	"github.com/ignity/ignity/pkg/layout"
)

// Outside a booted container (no envdir, nothing recorded) logutil-service
// reads IGNITY_LOGGING_SCRIPT from its environment, and a bad value of any
// other knob does not stop it.
func TestLoggingScriptFromEnvironment(t *testing.T) {
	tests := []struct {
		name      string
		script    string // IGNITY_LOGGING_SCRIPT
		verbosity string // IGNITY_VERBOSITY
		want      []string
		wantErr   string // the error's start; "" for none
	}{
		{"good", "n5 s100000", "1", []string{"n5", "s100000"}, ""},
		{"another knob is bad", "n5 s100000", "9", []string{"n5", "s100000"}, ""},
		{"bad script", "bogus", "1", nil, `IGNITY_LOGGING_SCRIPT="bogus": `},
		{"both bad", "bogus", "9", nil, `IGNITY_LOGGING_SCRIPT="bogus": `},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("IGNITY_LOGGING_SCRIPT", tt.script)
			t.Setenv("IGNITY_VERBOSITY", tt.verbosity)
			got, err := loggingScript(layout.Layout{Root: t.TempDir()}, config.Config{}, false)
			if tt.wantErr == "" {
				if err != nil || !slices.Equal(got, tt.want) {
					t.Fatalf("loggingScript = %q, %v; want %q", got, err, tt.want)
				}
				return
			}
			var ke *config.KnobError
			if !errors.As(err, &ke) || ke.Knob != "IGNITY_LOGGING_SCRIPT" || !strings.HasPrefix(err.Error(), tt.wantErr) {
				t.Fatalf("loggingScript error = %v, want the IGNITY_LOGGING_SCRIPT knob's, starting %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "IGNITY_VERBOSITY") {
				t.Errorf("error %q names another knob", err)
			}
		})
	}
}

package early

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTooFewPids(t *testing.T) {
	for _, tt := range []struct {
		name, max, current string
		want               string // a substring, or "" for the normal stop
	}{
		{"no limit", "max\n", "12\n", ""},
		{"enough", "20\n", "15\n", ""},
		{"too few", "20\n", "19\n", "pids limit 20 with 19 in use leaves 1, and the stop needs"},
		{"over", "20\n", "23\n", "leaves 0,"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v1 := filepath.Join(t.TempDir(), "pids")
			os.MkdirAll(v1, 0o755)
			os.WriteFile(filepath.Join(v1, "pids.max"), []byte(tt.max), 0o644)
			os.WriteFile(filepath.Join(v1, "pids.current"), []byte(tt.current), 0o644)
			dirs := []string{filepath.Join(t.TempDir(), "none"), v1}
			got := TooFewPids(dirs)
			if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
				t.Errorf("TooFewPids = %q, want %q", got, tt.want)
			}
		})
	}
	if got := TooFewPids([]string{t.TempDir()}); got != "" {
		t.Errorf("with no pids cgroup: %q, want the normal stop", got)
	}
}

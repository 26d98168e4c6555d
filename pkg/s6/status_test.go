package s6

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Bytes of supervise/status written by Debian trixie's s6-supervise 2.13,
// with what s6-svstat -o up,wantedup,ready,pid,pgid,exitcode,signal printed.
func TestParseStatusAgainstS6(t *testing.T) {
	for _, tt := range []struct {
		name, hex         string
		up, wantUp, ready bool
		pid, pgid         int
		code, sig         int
	}{
		// finish exited 125 after run exited 3: "false false false -1 -1 3 NA"
		{"permanent failure", "400000006b0f51b41ac870f4 400000006b0f51b41aeccc72 0000000000000000 0000000000000000 0300 08", false, false, false, 0, 0, 3, 0},
		// running sleep: "up (pid 11 pgid 11)"
		{"up", "400000006b0f51b41ae759b8 400000006b0f51b41ad19c6c 000000000000000b 000000000000000b 0000 04", true, true, false, 11, 11, 0, 0},
		// s6-svc -d: "down (signal SIGTERM)"
		{"down by s6-svc -d", "400000006b0f51c2385b42d4 400000006b0f51c2385f0768 0000000000000000 0000000000000000 000f 08", false, false, false, 0, 0, -1, 15},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b, err := hex.DecodeString(strings.ReplaceAll(tt.hex, " ", ""))
			if err != nil {
				t.Fatal(err)
			}
			st, err := ParseStatus(b)
			if err != nil {
				t.Fatal(err)
			}
			code, sig := st.Exit()
			if st.Up() != tt.up || st.WantUp != tt.wantUp || st.Ready() != tt.ready || st.Pid != tt.pid || st.Pgid != tt.pgid || code != tt.code || sig != tt.sig {
				t.Errorf("got %+v exit %d/%d", st, code, sig)
			}
			if st.Since.Unix() != 0x6b0f51b4-37 && st.Since.Unix() != 0x6b0f51c2-37 {
				t.Errorf("since %v: want the TAI64N label less skalibs' 37 s", st.Since)
			}
		})
	}
	if _, err := ParseStatus(make([]byte, 35)); err == nil {
		t.Error("a 35-byte status (s6 2.11's) parsed")
	}
	if _, err := ParseStatus(make([]byte, StatusSize+1)); err == nil {
		t.Error("a 44-byte status (no s6's) parsed")
	}
}

func TestWantedUp(t *testing.T) {
	for _, tt := range []struct {
		name  string
		flags byte
		size  int
		want  bool
		fails bool
	}{
		{"wanted up", stWantUp | stReady, StatusSize, true, false},
		{"told down", stReady, StatusSize, false, false},
		{"another s6's record", stWantUp, 35, false, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.Mkdir(filepath.Join(dir, "supervise"), 0o755); err != nil {
				t.Fatal(err)
			}
			b := make([]byte, tt.size)
			b[tt.size-1] = tt.flags
			if err := os.WriteFile(filepath.Join(dir, "supervise", "status"), b, 0o644); err != nil {
				t.Fatal(err)
			}
			up, err := WantedUp(dir)
			if (err != nil) != tt.fails || up != tt.want {
				t.Errorf("WantedUp = %v, %v; want %v, error %v", up, err, tt.want, tt.fails)
			}
		})
	}
}

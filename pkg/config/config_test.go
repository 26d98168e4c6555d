package config

import (
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		env     []string
		want    func(Config) bool
		wantErr []string // substrings the error must contain
	}{
		{
			name: "defaults",
			want: func(c Config) bool {
				return c.ServicesGrace == 5*time.Second && c.KillGrace == 3*time.Second &&
					c.FinalizeMax == 5*time.Second && c.CmdWaitMax == 5*time.Second &&
					!c.CmdWaitForServices && c.User == "root" && c.UID == 0 && c.Verbosity == 1 &&
					!c.ContinueOnFailure && c.InitMax == 0
			},
		},
		{
			name: "values",
			env:  []string{"IGNITY_KILL_GRACETIME=0", "IGNITY_CMD_WAIT_FOR_SERVICES=1", "USERMAP_UID=1000", "USERMAP_GID=1001", "USER=app"},
			want: func(c Config) bool {
				return c.KillGrace == 0 && c.CmdWaitForServices && c.UID == 1000 && c.GID == 1001 && c.User == "app"
			},
		},
		{
			name: "failure policy and init bound",
			env:  []string{"IGNITY_BEHAVIOUR_IF_STAGE2_FAILS=0", "IGNITY_INIT_MAXTIME=250"},
			want: func(c Config) bool { return c.ContinueOnFailure && c.InitMax == 250*time.Millisecond },
		},
		{
			name:    "bad policy",
			env:     []string{"IGNITY_BEHAVIOUR_IF_STAGE2_FAILS=3"},
			wantErr: []string{`IGNITY_BEHAVIOUR_IF_STAGE2_FAILS="3"`},
		},
		{
			name:    "every bad knob is named",
			env:     []string{"IGNITY_KILL_GRACETIME=3s", "USERMAP_UID=-1", "IGNITY_SKIP_PERMS=yes"},
			wantErr: []string{`IGNITY_KILL_GRACETIME="3s"`, `USERMAP_UID="-1"`, `IGNITY_SKIP_PERMS="yes"`},
		},
		{
			name:    "bad user name",
			env:     []string{"USER=a:b"},
			wantErr: []string{`USER="a:b"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse(tt.env)
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatalf("Parse(%q) = nil error, want one", tt.env)
				}
				for _, s := range tt.wantErr {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not name %s", err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.env, err)
			}
			if !tt.want(c) {
				t.Errorf("Parse(%q) = %+v", tt.env, c)
			}
		})
	}
}

func TestStopBound(t *testing.T) {
	c := Default()
	if got := c.StopBound(1); got != 8*time.Second {
		t.Errorf("default bound with one finalize script = %v, want 8s", got)
	}
	if got := c.StopBound(3); got != 18*time.Second {
		t.Errorf("bound with three finalize scripts = %v, want 18s", got)
	}
}

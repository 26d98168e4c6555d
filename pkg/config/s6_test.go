package config

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestS6Aliases(t *testing.T) {
	tests := []struct {
		name      string
		env       []string
		overlay   bool
		want      func(Config) bool
		wantNotes []string // substrings, one note each, in order
		wantErr   string
	}{
		{
			name: "every alias sets its knob",
			env: []string{"S6_BEHAVIOUR_IF_STAGE2_FAILS=1", "S6_CMD_WAIT_FOR_SERVICES=1", "S6_CMD_WAIT_FOR_SERVICES_MAXTIME=7000",
				"S6_SERVICES_GRACETIME=1100", "S6_KILL_GRACETIME=1200", "S6_KILL_FINISH_MAXTIME=1300", "S6_SYNC_DISKS=1",
				"S6_LOGGING_SCRIPT=n3 s5000", "S6_KEEP_ENV=1", "S6_CMD_ARG0=/entry 'two words'", "S6_STAGE2_HOOK=echo hook",
				"S6_FIX_ATTRS_HIDDEN=1"},
			want: func(c Config) bool {
				return c.ContinueOnFailure && c.CmdWaitForServices && c.CmdWaitMax == 7*time.Second &&
					c.ServicesGrace == 1100*time.Millisecond && c.KillGrace == 1200*time.Millisecond &&
					c.FinalizeMax == 1300*time.Millisecond && c.SyncDisks && strings.Join(c.LoggingScript, " ") == "n3 s5000" &&
					c.KeepEnv && strings.Join(c.CmdArg0, "|") == "/entry|two words" && c.Stage2Hook == "echo hook" && c.FixAttrsHidden
			},
		},
		{
			name: "IGNITY_ wins, one warning when they differ",
			env:  []string{"IGNITY_KILL_GRACETIME=100", "S6_KILL_GRACETIME=200", "IGNITY_SERVICES_GRACETIME=300", "S6_SERVICES_GRACETIME=300"},
			want: func(c Config) bool {
				return c.KillGrace == 100*time.Millisecond && c.ServicesGrace == 300*time.Millisecond
			},
			wantNotes: []string{`IGNITY_KILL_GRACETIME="100" and S6_KILL_GRACETIME="200" are both set: IGNITY_KILL_GRACETIME wins`},
		},
		{name: "S6_VERBOSITY 0", env: []string{"S6_VERBOSITY=0"}, want: func(c Config) bool { return c.Verbosity == 0 }},
		{name: "S6_VERBOSITY 2", env: []string{"S6_VERBOSITY=2"}, want: func(c Config) bool { return c.Verbosity == 1 }},
		{name: "S6_VERBOSITY 5", env: []string{"S6_VERBOSITY=5"}, want: func(c Config) bool { return c.Verbosity == 2 }},
		{name: "S6_VERBOSITY mapped before comparing", env: []string{"S6_VERBOSITY=2", "IGNITY_VERBOSITY=1"}, want: func(c Config) bool { return c.Verbosity == 1 }},
		{name: "bad S6_VERBOSITY named", env: []string{"S6_VERBOSITY=loud"}, wantErr: `S6_VERBOSITY="loud": want a whole number`},
		{name: "bad alias value named by its own name", env: []string{"S6_KILL_GRACETIME=3s"}, wantErr: `S6_KILL_GRACETIME="3s": want a whole number of milliseconds`},
		{name: "bad CMD_ARG0", env: []string{"S6_CMD_ARG0=/entry 'open"}, wantErr: `S6_CMD_ARG0="/entry 'open": want words`},
		{
			name:    "layout defaults",
			overlay: true,
			want: func(c Config) bool {
				return c.ContinueOnFailure && c.CmdWaitMax == 0 && c.ServicesGrace == 5*time.Second && c.KillGrace == 3*time.Second && c.FinalizeMax == 5*time.Second
			},
		},
		{
			name:    "explicit values beat the layout defaults",
			env:     []string{"S6_BEHAVIOUR_IF_STAGE2_FAILS=2", "IGNITY_CMD_WAIT_FOR_SERVICES_MAXTIME=900"},
			overlay: true,
			want:    func(c Config) bool { return !c.ContinueOnFailure && c.CmdWaitMax == 900*time.Millisecond },
		},
		{
			name:      "no effect at debug, not supported as warnings, each once",
			env:       []string{"S6_READ_ONLY_ROOT=1", "S6_LOGGING=1", "S6_LOGGING=2", "S6_RUNTIME_PROFILE=x"},
			wantNotes: []string{"S6_LOGGING is not supported: ", "S6_READ_ONLY_ROOT is accepted and has no effect", "S6_RUNTIME_PROFILE is not supported: "},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, notes, err := ParseFor(tt.env, tt.overlay)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.want != nil && !tt.want(c) {
				t.Errorf("config %+v", c)
			}
			if len(notes) != len(tt.wantNotes) {
				t.Fatalf("notes %+v, want %d", notes, len(tt.wantNotes))
			}
			for i, n := range notes {
				if !strings.Contains(n.Text, tt.wantNotes[i]) {
					t.Errorf("note %d = %q, want %q", i, n.Text, tt.wantNotes[i])
				}
			}
		})
	}
}

// The boot record holds the knobs under their IGNITY_ names, with the
// layout's defaults explicit: later processes parse it without the S6_
// names or the image.
func TestKnobsResolveAliases(t *testing.T) {
	got := strings.Join(Knobs([]string{"S6_KILL_GRACETIME=200", "S6_VERBOSITY=3", "SECRET=x", "S6_LOGGING=1"}, true), " ")
	want := "IGNITY_BEHAVIOUR_IF_STAGE2_FAILS=0 IGNITY_CMD_WAIT_FOR_SERVICES_MAXTIME=0 IGNITY_CMD_RECEIVE_SIGNALS=0 IGNITY_KILL_GRACETIME=200 IGNITY_VERBOSITY=2"
	if got != want {
		t.Errorf("Knobs = %q\nwant   %q", got, want)
	}
	c, err := Parse(strings.Fields(got))
	if err != nil || c.KillGrace != 200*time.Millisecond || c.Verbosity != 2 || !c.ContinueOnFailure || c.CmdWaitMax != 0 || c.CmdReceiveSignals {
		t.Errorf("Parse of the record: %+v, %v", c, err)
	}
}

// S6_CMD_RECEIVE_SIGNALS: s6-overlay's 0 (its default, and the s6-overlay
// layout's) keeps SIGINT and SIGQUIT stopping the container; 1 and more
// send them to the CMD, ignity's own default.
func TestCmdReceiveSignals(t *testing.T) {
	for _, tt := range []struct {
		env     []string
		overlay bool
		want    bool
		wantErr string
	}{
		{nil, false, true, ""},
		{nil, true, false, ""},
		{[]string{"S6_CMD_RECEIVE_SIGNALS=1"}, true, true, ""},
		{[]string{"S6_CMD_RECEIVE_SIGNALS=2"}, true, true, ""},
		{[]string{"S6_CMD_RECEIVE_SIGNALS=0"}, false, false, ""},
		{[]string{"IGNITY_CMD_RECEIVE_SIGNALS=0"}, false, false, ""},
		{[]string{"IGNITY_CMD_RECEIVE_SIGNALS=1", "S6_CMD_RECEIVE_SIGNALS=0"}, true, true, ""},
		{[]string{"S6_CMD_RECEIVE_SIGNALS=yes"}, false, false, "S6_CMD_RECEIVE_SIGNALS=\"yes\""},
	} {
		c, _, err := ParseFor(tt.env, tt.overlay)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%q: error %v, want %q", tt.env, err, tt.wantErr)
			}
			continue
		}
		if err != nil || c.CmdReceiveSignals != tt.want {
			t.Errorf("%q (overlay %v): CmdReceiveSignals %v, %v; want %v", tt.env, tt.overlay, c.CmdReceiveSignals, err, tt.want)
		}
		// The boot record carries it to the handlers.
		if r, err := Parse(Knobs(tt.env, tt.overlay)); err != nil || r.CmdReceiveSignals != tt.want {
			t.Errorf("%q (overlay %v): recorded %v, %v", tt.env, tt.overlay, r.CmdReceiveSignals, err)
		}
	}
}

// FuzzKnobsRoundTrip: whatever an environment holds, the configuration
// later processes read from the boot record (Knobs, parsed without the
// layout) is the one stage1 parsed, and parsing never panics.
func FuzzKnobsRoundTrip(f *testing.F) {
	f.Add("S6_KILL_GRACETIME", "200", "IGNITY_KILL_GRACETIME", "100", true)
	f.Add("S6_VERBOSITY", "4", "S6_CMD_ARG0", "/e 'a b'", false)
	f.Add("S6_BEHAVIOUR_IF_STAGE2_FAILS", "2", "S6_LOGGING", "1", true)
	f.Add("S6_KEEP_ENV", "1", "S6_STAGE2_HOOK", "echo hi", false)
	f.Fuzz(func(t *testing.T, n1, v1, n2, v2 string, overlay bool) {
		env := []string{n1 + "=" + v1, n2 + "=" + v2}
		want, _, err := ParseFor(env, overlay)
		if err != nil || strings.ContainsAny(v1+v2, "\n") {
			return
		}
		got, err := Parse(Knobs(env, overlay))
		if err != nil {
			t.Fatalf("the record of %q does not parse: %v", env, err)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%q: recorded config %+v, want %+v", env, got, want)
		}
	})
}

package config

import (
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
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
			name: "log prefix, logging script and stop signal defaults",
			want: func(c Config) bool {
				return !c.LogPrefix && strings.Join(c.LoggingScript, " ") == "n20 s1000000 T" && c.CmdStopSignal == unix.SIGTERM
			},
		},
		{
			name: "log prefix, logging script and stop signal",
			env:  []string{"IGNITY_LOG_PREFIX=1", "IGNITY_LOGGING_SCRIPT= n3  s4096 t +^x -y p[x] !gzip ?sh =st 1 2 f E0 ^0 S0 l0 r50 ", "IGNITY_CMD_STOP_SIGNAL=quit"},
			want: func(c Config) bool {
				return c.LogPrefix && len(c.LoggingScript) == 17 && c.LoggingScript[0] == "n3" && c.CmdStopSignal == unix.SIGQUIT
			},
		},
		{name: "stop signal by number", env: []string{"IGNITY_CMD_STOP_SIGNAL=3"}, want: func(c Config) bool { return c.CmdStopSignal == unix.SIGQUIT }},
		{name: "stop signal SIG name", env: []string{"IGNITY_CMD_STOP_SIGNAL=SIGUSR1"}, want: func(c Config) bool { return c.CmdStopSignal == unix.SIGUSR1 }},
		{name: "bad stop signal", env: []string{"IGNITY_CMD_STOP_SIGNAL=QUITT"}, wantErr: []string{`IGNITY_CMD_STOP_SIGNAL="QUITT"`, "signal name"}},
		{name: "stop signal out of range", env: []string{"IGNITY_CMD_STOP_SIGNAL=65"}, wantErr: []string{`IGNITY_CMD_STOP_SIGNAL="65"`}},
		{name: "bad log prefix", env: []string{"IGNITY_LOG_PREFIX=yes"}, wantErr: []string{`IGNITY_LOG_PREFIX="yes"`, "want 0 or 1"}},
		{name: "blank logging script", env: []string{"IGNITY_LOGGING_SCRIPT=  "}, wantErr: []string{`IGNITY_LOGGING_SCRIPT="  "`, "want s6-log directives"}},
		{name: "logging script on two lines", env: []string{"IGNITY_LOGGING_SCRIPT=n2\ns5000"}, wantErr: []string{`IGNITY_LOGGING_SCRIPT: holds a newline`, "one line"}},
		{name: "logging script size too small", env: []string{"IGNITY_LOGGING_SCRIPT=n2 s100"}, wantErr: []string{`IGNITY_LOGGING_SCRIPT="n2 s100"`, `directive "s100"`, "4096"}},
		{name: "logging script with a bad count", env: []string{"IGNITY_LOGGING_SCRIPT=nx T"}, wantErr: []string{`directive "nx"`}},
		{name: "logging script with an unknown directive", env: []string{"IGNITY_LOGGING_SCRIPT=n2 x T"}, wantErr: []string{`directive "x"`, "not an s6-log directive"}},
		{name: "logging script T with an argument", env: []string{"IGNITY_LOGGING_SCRIPT=Tx"}, wantErr: []string{`directive "Tx"`}},
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

// TestMultilineKnob: a knob's value holding a newline is refused, named
// as the user set it (an S6_* alias, not the knob it stands for), its
// value not quoted (a hook may hold a secret).
func TestMultilineKnob(t *testing.T) {
	tests := []struct {
		name    string
		env     []string
		want    string // the variable named; "" for no error
		notWant string
	}{
		{"ignity hook", []string{"IGNITY_STAGE2_HOOK=echo a\necho SECRET"}, "IGNITY_STAGE2_HOOK: holds a newline", ""},
		{"s6 hook", []string{"S6_STAGE2_HOOK=echo a\necho SECRET"}, "S6_STAGE2_HOOK: holds a newline", "IGNITY_STAGE2_HOOK"},
		{"bundle dir", []string{"S6_RUNTIME_BUNDLEDIR=/etc/b\n/x"}, "S6_RUNTIME_BUNDLEDIR: holds a newline", "IGNITY_RUNTIME_BUNDLEDIR"},
		{"user, once", []string{"USER=app\nroot"}, "USER: holds a newline", "USER=\""},
		{"the IGNITY_ knob wins", []string{"IGNITY_STAGE2_HOOK=true", "S6_STAGE2_HOOK=echo a\necho b"}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.env)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Parse(%q): %v", tt.env, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Parse(%q) = nil error, want %q", tt.env, tt.want)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.want) || !errors.Is(err, ErrNewline) {
				t.Errorf("error %q: want %q, wrapping ErrNewline", msg, tt.want)
			}
			if strings.Contains(msg, "SECRET") || (tt.notWant != "" && strings.Contains(msg, tt.notWant)) {
				t.Errorf("error %q quotes the value or names %q", msg, tt.notWant)
			}
			if n := strings.Count(msg, "\n") + 1; n != 1 {
				t.Errorf("%d errors, want one:\n%s", n, msg)
			}
		})
	}
}

// Every bad knob is a *KnobError naming the knob, the S6_* variable that
// set it, the value and what was expected, and prints as it always has.
func TestKnobErrorIsTyped(t *testing.T) {
	tests := []struct {
		name string
		env  []string
		want KnobError // Err compared by text
		text string
	}{
		{"ignity knob", []string{"IGNITY_VERBOSITY=7"},
			KnobError{Knob: "IGNITY_VERBOSITY", Value: "7", Err: errors.New("want 0, 1 or 2")},
			`IGNITY_VERBOSITY="7": want 0, 1 or 2`},
		{"alias", []string{"S6_KILL_GRACETIME=soon"},
			KnobError{Knob: "IGNITY_KILL_GRACETIME", Alias: "S6_KILL_GRACETIME", Value: "soon", Err: errors.New("want a whole number of milliseconds (0 or more)")},
			`S6_KILL_GRACETIME="soon": want a whole number of milliseconds (0 or more)`},
		{"alias with a conversion", []string{"S6_VERBOSITY=loud"},
			KnobError{Knob: "IGNITY_VERBOSITY", Alias: "S6_VERBOSITY", Value: "loud", Err: errors.New("want a whole number, 0 or more (s6-overlay's levels: 0 maps to 0, 1 and 2 to 1, 3 and more to 2)")},
			`S6_VERBOSITY="loud": want a whole number, 0 or more (s6-overlay's levels: 0 maps to 0, 1 and 2 to 1, 3 and more to 2)`},
		{"newline, value unquoted", []string{"S6_STAGE2_HOOK=a\nb"},
			KnobError{Knob: "IGNITY_STAGE2_HOOK", Alias: "S6_STAGE2_HOOK", Value: "a\nb", Err: ErrNewline},
			"S6_STAGE2_HOOK: " + ErrNewline.Error()},
		{"user", []string{"USER=a:b"},
			KnobError{Knob: "USER", Value: "a:b", Err: errors.New("want an account name without ':', '/' or newlines")},
			`USER="a:b": want an account name without ':', '/' or newlines`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.env)
			var ke *KnobError
			if !errors.As(err, &ke) {
				t.Fatalf("Parse(%q) error %v (%T): no *KnobError in it", tt.env, err, err)
			}
			if ke.Knob != tt.want.Knob || ke.Alias != tt.want.Alias || ke.Value != tt.want.Value || ke.Err.Error() != tt.want.Err.Error() {
				t.Errorf("KnobError = %+v, want %+v", *ke, tt.want)
			}
			if want := tt.want.Name(); ke.Name() != want {
				t.Errorf("Name() = %q, want %q", ke.Name(), want)
			}
			if err.Error() != tt.text {
				t.Errorf("error prints %q, want %q", err.Error(), tt.text)
			}
		})
	}
}

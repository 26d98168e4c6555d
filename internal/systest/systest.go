// Package systest is a container for unit tests of the programs that run
// inside one (s6-svscan's handlers, the CMD's applets): a
// container.System over a temporary root, its run state created and its
// boot recorded as stage1 records them, with every signal recorded
// instead of sent and s6-svscan's control FIFO read by the test.
package systest

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/ignity/ignity/internal/harness"
	"github.com/ignity/ignity/pkg/config"
	"github.com/ignity/ignity/pkg/container"
	"github.com/ignity/ignity/pkg/layout"
	"github.com/ignity/ignity/pkg/runstate"
	"github.com/ignity/ignity/pkg/s6"
	"golang.org/x/sys/unix"
)

// FakeSvscan is s6-svscan's pid in the boot record: never a real one,
// since signals are only recorded.
const FakeSvscan = 999999

// World is a container under a temporary root.
type World struct {
	Sys container.System
	// Scan reads what was written to s6-svscan's control FIFO since the
	// last call (Booted makes the FIFO).
	Scan   func() string
	stderr buffer
	mu     sync.Mutex
	kills  []string // "pid:SIGNAME"
}

// New is a container with its run state created, nothing booted.
func New(t *testing.T) *World {
	t.Helper()
	w := &World{Scan: func() string { return "" }}
	w.Sys = container.System{
		Layout:   layout.Layout{Root: t.TempDir()},
		Programs: layout.DefaultPrograms,
		Exe:      "/usr/bin/ignity",
		Exec: func(string, []string, []string) error {
			return fmt.Errorf("exec stubbed by the test")
		},
		Kill: func(pid int, sig unix.Signal) error {
			w.mu.Lock()
			defer w.mu.Unlock()
			w.kills = append(w.kills, fmt.Sprintf("%d:%s", pid, unix.SignalName(sig)))
			return nil
		},
		Stderr: &w.stderr,
	}
	if err := os.MkdirAll(w.Sys.Layout.Run(), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := w.State().Create(0); err != nil {
		t.Fatal(err)
	}
	return w
}

// Booted is New with the boot recorded, knobs its configuration, and
// s6-svscan's scandir and control FIFO made.
func Booted(t *testing.T, knobs ...string) *World {
	t.Helper()
	w := New(t)
	if err := os.MkdirAll(w.Sys.Layout.SvscanDir(), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(knobs)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.State().Create(cfg.CmdStopSignal); err != nil { // as /init does, once it read them
		t.Fatal(err)
	}
	if err := w.State().WriteBoot(runstate.Boot{Svscan: FakeSvscan, Stage2: os.Getpid(), Knobs: knobs}); err != nil {
		t.Fatal(err)
	}
	w.Scan = harness.FIFOReader(t, s6.ScanControl(w.Sys.Layout.Scandir()))
	return w
}

// State is the container's run state.
func (w *World) State() runstate.State { return w.Sys.State() }

// Kills are the signals sent so far, as "pid:SIGNAME".
func (w *World) Kills() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.kills...)
}

// Stderr is what the programs wrote to stderr.
func (w *World) Stderr() string { return w.stderr.String() }

// WantLog fails t unless stderr holds each of lines.
func (w *World) WantLog(t *testing.T, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if !strings.Contains(w.Stderr(), l) {
			t.Errorf("log lacks %q:\n%s", l, w.Stderr())
		}
	}
}

// buffer is a bytes.Buffer safe for a program's goroutines.
type buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

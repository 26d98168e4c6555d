package s6

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestSendAndListening(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "control")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	if Listening(fifo) {
		t.Fatal("Listening with no reader")
	}
	if err := Send(fifo, "dx"); err == nil || !strings.Contains(err.Error(), "not listening") {
		t.Fatalf("Send with no reader = %v, want a not-listening error", err)
	}
	r, err := os.OpenFile(fifo, os.O_RDONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if !Listening(fifo) {
		t.Fatal("not Listening with a reader")
	}
	if err := Send(fifo, "dx"); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 8)
	n, _ := r.Read(buf)
	if got := string(buf[:n]); got != "dx" {
		t.Errorf("read %q, want dx", got)
	}
}

func write(t *testing.T, path, body string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), mode); err != nil {
		t.Fatal(err)
	}
}

func TestInstall(t *testing.T) {
	for _, tt := range []struct {
		name       string
		grace      time.Duration
		ownTimeout bool
		want       string
	}{
		{"from the grace", 5 * time.Second, false, "5000\n"},
		{"no grace is 1 ms, not never", 0, false, "1\n"},
		{"the service's own", 5 * time.Second, true, "250\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir, scan := filepath.Join(t.TempDir(), "web"), t.TempDir()
			write(t, filepath.Join(dir, "run"), "#!/bin/sh\n", 0o755)
			write(t, filepath.Join(dir, "log", "run"), "#!/bin/sh\n", 0o755)
			if tt.ownTimeout {
				write(t, filepath.Join(dir, "timeout-kill"), "250\n", 0o644)
			}
			if err := Install(dir, scan, "web", tt.grace); err != nil {
				t.Fatal(err)
			}
			for _, p := range []string{"timeout-kill", "log/timeout-kill"} {
				b, err := os.ReadFile(filepath.Join(scan, "web", p))
				want := tt.want
				if p == "log/timeout-kill" && tt.ownTimeout {
					want = "5000\n"
				}
				if err != nil || string(b) != want {
					t.Errorf("%s = %q, %v; want %q", p, b, err, want)
				}
			}
			if fi, err := os.Lstat(filepath.Join(scan, "web")); err != nil || !fi.IsDir() {
				t.Errorf("scandir entry: %v, %v; want the service dir itself", fi, err)
			}
			if exists(dir) {
				t.Errorf("%s is still there: Install moves it", dir)
			}
			list, err := List(scan)
			if err != nil || len(list) != 1 || !list[0].Logged {
				t.Errorf("List of the scandir = %+v, %v", list, err)
			}
		})
	}
}

func TestCopyTreeFollowsTopSymlinkKeepsInner(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "available", "web")
	write(t, filepath.Join(real, "run"), "#!/bin/sh\n", 0o755)
	if err := os.Symlink("/etc/some/config", filepath.Join(real, "config")); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "enabled")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, "copy")
	if err := CopyTree(link, dst); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(dst); err != nil || !fi.IsDir() {
		t.Fatalf("copy of a symlinked dir is not a dir: %v %v", fi, err)
	}
	if target, err := os.Readlink(filepath.Join(dst, "config")); err != nil || target != "/etc/some/config" {
		t.Errorf("inner symlink = %q, %v", target, err)
	}
}

func TestListAndLinkPrograms(t *testing.T) {
	scan, origin := t.TempDir(), t.TempDir()
	write(t, filepath.Join(scan, "b", "run"), "", 0o755)
	write(t, filepath.Join(scan, "b", "down"), "", 0o644)
	write(t, filepath.Join(scan, "a", "run"), "", 0o755)
	write(t, filepath.Join(scan, "a", "log", "run"), "", 0o755)
	write(t, filepath.Join(scan, "a", "notification-fd"), "3\n", 0o644)
	write(t, filepath.Join(scan, ".s6-svscan", "x"), "", 0o644)
	list, err := List(scan)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Name != "a" || !list[0].Logged || !list[0].Notify || list[0].Down ||
		list[1].Name != "b" || !list[1].Down || list[1].Logged {
		t.Errorf("List = %+v", list)
	}
	write(t, filepath.Join(origin, "run"), "", 0o755)
	write(t, filepath.Join(origin, "log", "run"), "", 0o755)
	if err := LinkPrograms(filepath.Join(scan, "a"), origin); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"run", "log/run"} {
		if target, err := os.Readlink(filepath.Join(scan, "a", p)); err != nil || target != filepath.Join(origin, p) {
			t.Errorf("%s -> %q, %v", p, target, err)
		}
	}
}

func TestSupervisedNeedsStatusFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "supervise"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mkfifo(Control(dir), 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := os.OpenFile(Control(dir), os.O_RDONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	// s6-supervise's window between opening control and announcing.
	if Supervised(dir) {
		t.Fatal("Supervised before supervise/status exists")
	}
	if left := WaitSupervised([]string{dir}, time.Now().Add(20*time.Millisecond)); len(left) != 1 {
		t.Fatalf("WaitSupervised = %v, want the dir left", left)
	}
	write(t, filepath.Join(dir, "supervise", "status"), "", 0o644)
	if left := WaitSupervised([]string{dir}, time.Now().Add(time.Second)); len(left) != 0 {
		t.Fatalf("WaitSupervised = %v, want none left", left)
	}
}

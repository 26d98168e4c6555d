package runstate

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestCreateFresh: whatever another uid left under the state directory's
// name (a symlink to a directory it wants written, its own directory with
// a planted record) is removed, not followed, and nothing of it is read.
func TestCreateFresh(t *testing.T) {
	for _, tt := range []struct {
		name  string
		plant func(t *testing.T, p, victim string)
	}{
		{"symlink", func(t *testing.T, p, victim string) {
			if err := os.Symlink(victim, p); err != nil {
				t.Fatal(err)
			}
		}},
		{"directory with a record", func(t *testing.T, p, _ string) {
			if err := os.Mkdir(p, 0o777); err != nil {
				t.Fatal(err)
			}
			rec := record{reason: "attacker", exit: 0}
			if err := os.WriteFile(filepath.Join(p, fileRecord), rec.encode(), 0o666); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			victim := t.TempDir()
			tt.plant(t, filepath.Join(dir, StateDir), victim)
			st := New(dir)
			if err := st.Create(0); err != nil {
				t.Fatal(err)
			}
			if entries, _ := os.ReadDir(victim); len(entries) != 0 {
				t.Errorf("Create wrote through the symlink: %v", entries)
			}
			if reason, ok := st.Stopping(); ok {
				t.Errorf("a planted reason %q was kept", reason)
			}
			fi, err := os.Lstat(st.stateDir())
			if err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o755 {
				t.Errorf("state dir %v, %v; want a directory 0755", fi.Mode(), err)
			}
		})
	}
}

// TestUntrusted: a state directory or record that another uid owns, or
// that its group or others may write, or a symlink, is refused, with an
// error that says so; nothing of it is used.
func TestUntrusted(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give entries to another uid")
	}
	for _, tt := range []struct {
		name  string
		spoil func(t *testing.T, st State)
		want  string
	}{
		{"state dir of another uid", func(t *testing.T, st State) {
			must(t, os.Chown(st.stateDir(), 1000, 1000))
		}, "owned by uid 1000"},
		{"state dir writable by its group", func(t *testing.T, st State) {
			must(t, os.Chmod(st.stateDir(), 0o775))
		}, "writable by its group or others"},
		{"state dir replaced by a symlink", func(t *testing.T, st State) {
			must(t, os.Rename(st.stateDir(), st.stateDir()+".old"))
			must(t, os.Symlink(StateDir+".old", st.stateDir()))
		}, "a symlink"},
		{"record of another uid", func(t *testing.T, st State) {
			must(t, os.Chown(filepath.Join(st.stateDir(), fileRecord), 1000, 0))
		}, "owned by uid 1000"},
		{"record replaced by a symlink", func(t *testing.T, st State) {
			p := filepath.Join(st.stateDir(), fileRecord)
			must(t, os.Rename(p, p+".old"))
			must(t, os.Symlink(p+".old", p))
		}, "a symlink"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st, _ := newState(t)
			if _, err := st.SetExitStatus(42); err != nil {
				t.Fatal(err)
			}
			tt.spoil(t, st)
			_, err := st.SetExitStatus(0)
			if !errors.Is(err, ErrUntrusted) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("SetExitStatus = %v, want a refusal saying %q", err, tt.want)
			}
			if n, ok := st.ExitStatus(); ok {
				t.Errorf("ExitStatus() = %d from an untrusted record", n)
			}
		})
	}
}

// TestRestartsNoFollow: a symlink planted where a restart record's
// temporary file is written is replaced, never written through.
func TestRestartsNoFollow(t *testing.T) {
	st, _ := newState(t)
	victim := filepath.Join(t.TempDir(), "shadow")
	must(t, os.WriteFile(victim, []byte("secret\n"), 0o600))
	must(t, os.Symlink(victim, filepath.Join(st.stateDir(), dirRestarts, ".web.new")))
	if err := st.SetRestarts("web", Restarts{Deaths: 1}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(victim)
	fi, _ := os.Stat(victim)
	if err != nil || string(b) != "secret\n" || fi.Mode().Perm() != 0o600 {
		t.Errorf("the symlink's target became %q mode %v, want it untouched", b, fi.Mode())
	}
	if r, ok, err := st.Restarts("web"); err != nil || !ok || r.Deaths != 1 {
		t.Errorf("Restarts = %+v %v %v", r, ok, err)
	}
}

// TestRecordFullDisk: the record is changed in place, so a shutdown
// request and the CMD's status are kept when the filesystem is full.
func TestRecordFullDisk(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a tmpfs")
	}
	dir := t.TempDir()
	// unshare applies to this thread only: the test stays on it, and the
	// thread ends with the test (no UnlockOSThread).
	runtime.LockOSThread()
	if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
		t.Skipf("cannot unshare the mount namespace: %v", err)
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=64k"); err != nil {
		t.Skipf("cannot mount a tmpfs: %v", err)
	}
	defer unix.Unmount(dir, unix.MNT_DETACH)
	rec := &signals{}
	st := New(dir).WithKill(rec.kill)
	rec.fifo = listen(t, dir)
	must(t, st.Create(0))
	must(t, st.WriteBoot(Boot{Svscan: 1, Stage2: 2}))
	must(t, st.CmdStarted(cmdPgid))
	// Fill it.
	f, err := os.Create(filepath.Join(dir, "fill"))
	must(t, err)
	for {
		_, err := f.Write(make([]byte, 4096))
		if errors.Is(err, unix.ENOSPC) {
			break
		}
		must(t, err)
	}
	f.Close()
	if err := os.WriteFile(filepath.Join(dir, "more"), []byte("x"), 0o644); !errors.Is(err, unix.ENOSPC) {
		t.Fatalf("the tmpfs is not full: %v", err)
	}
	if err := st.CmdExited(3); err != nil {
		t.Fatalf("CmdExited on a full disk: %v", err)
	}
	if n, ok := st.ExitStatus(); !ok || n != 3 {
		t.Errorf("ExitStatus() = %d, %v on a full disk; want 3", n, ok)
	}
	if reason, _ := st.Stopping(); reason != ReasonCmdExited || rec.aborts() != 1 {
		t.Errorf("reason %q, %d b to s6-svscan; want %q and 1", reason, rec.aborts(), ReasonCmdExited)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

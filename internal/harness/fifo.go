package harness

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// FIFOReader makes a FIFO at p and opens it for reading, without
// blocking, as s6-svscan or s6-supervise would hold their control FIFO:
// writers then find a reader. The function returns what was written
// since the last call.
func FIFOReader(t testing.TB, p string) func() string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mkfifo(p, 0o600); err != nil {
		t.Fatal(err)
	}
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return func() string {
		b := make([]byte, 512)
		n, _ := unix.Read(fd, b)
		return string(b[:max(n, 0)])
	}
}

package runstate

// The reserved record: what decides the shutdown and the exit status, in
// one file of fixed size that Create writes whole at boot. Every change
// rewrites the same bytes in place (pwrite at offset 0, under flock of
// the lock file), and overwriting bytes a file already holds allocates
// nothing on tmpfs or ext4: a full /run/ignity cannot lose a shutdown
// request, the CMD's status or the once-flag of its stop signal.
//
// The lock is a separate file of mode 0600: the record itself is readable
// by every uid (ignity status shows the CMD), and flock needs only a
// descriptor open for reading, so locking the record would let any uid
// hold the lock, and every stop, forever.

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// record is the reserved record's content.
type record struct {
	reason  string // why the container stops; "" until asked; the first request wins
	exit    int    // the container's exit status; -1 until one is recorded; the first wins
	cmd     int    // the CMD's process group while it runs; 0 = none
	since   int64  // when cmd was recorded, ms since the epoch
	stopped bool   // the CMD got its stop signal: it never gets it twice
	stopsig int    // that signal, IGNITY_CMD_STOP_SIGNAL as /init read it (Create); 0 = SIGTERM
	early   string // the first terminating signal before s6-svscan was ready ("SIGTERM")
}

// reasonMax is the longest reason kept; a longer one is cut.
const reasonMax = 120

// recordSize is the record's length, fixed: every field has its width.
var recordSize = len(emptyRecord().encode())

func emptyRecord() record { return record{exit: -1} }

func (r record) encode() []byte {
	reason := strings.ReplaceAll(r.reason, "\n", " ")
	if len(reason) > reasonMax {
		reason = reason[:reasonMax]
	}
	stopped := 0
	if r.stopped {
		stopped = 1
	}
	return fmt.Appendf(nil, "reason=%-*s\nexit=%-4d\ncmd=%-10d\nsince=%-16d\nstopped=%d\nstopsig=%-3d\nearly=%-10s\n",
		reasonMax, reason, r.exit, r.cmd, r.since, stopped, r.stopsig, r.early)
}

func decodeRecord(b []byte) (record, error) {
	r := emptyRecord()
	if len(b) != recordSize {
		return r, fmt.Errorf("%d bytes, want %d", len(b), recordSize)
	}
	for n, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		k, v, ok := strings.Cut(line, "=")
		v = strings.TrimRight(v, " ")
		var err error
		switch {
		case !ok:
			err = fmt.Errorf("want NAME=value")
		case k == "reason":
			r.reason = v
		case k == "exit":
			r.exit, err = strconv.Atoi(v)
		case k == "cmd":
			r.cmd, err = strconv.Atoi(v)
		case k == "since":
			r.since, err = strconv.ParseInt(v, 10, 64)
		case k == "stopped":
			r.stopped = v == "1"
		case k == "stopsig":
			r.stopsig, err = strconv.Atoi(v)
		case k == "early":
			r.early = v
		}
		if err != nil {
			return emptyRecord(), fmt.Errorf("line %d: %w", n+1, err)
		}
	}
	return r, nil
}

// load reads the record. The owner of the state takes the lock shared, so
// that it never reads a change half-written; other uids cannot open the
// lock and read without it (they only display what they read).
func (s State) load() (record, error) {
	d, err := s.open()
	if err != nil {
		return emptyRecord(), err
	}
	defer unix.Close(d)
	if lock, err := openIn(d, fileLock, unix.O_RDONLY, 0, true); err == nil {
		defer unix.Close(lock)
		if err := flock(lock, unix.LOCK_SH); err != nil {
			return emptyRecord(), err
		}
	}
	fd, err := openIn(d, fileRecord, unix.O_RDONLY, 0, true)
	if err != nil {
		return emptyRecord(), err
	}
	defer unix.Close(fd)
	return readRecord(fd)
}

func readRecord(fd int) (record, error) {
	b := make([]byte, recordSize+1)
	n, err := unix.Pread(fd, b, 0)
	if err != nil {
		return emptyRecord(), fmt.Errorf("read the record: %w", err)
	}
	r, err := decodeRecord(b[:n])
	if err != nil {
		return r, fmt.Errorf("read the record: %w", err)
	}
	return r, nil
}

// update applies change to the record under the lock, and writes it back
// in place: the one way the record changes.
func (s State) update(change func(r *record)) error {
	d, err := s.open()
	if err != nil {
		return err
	}
	defer unix.Close(d)
	lock, err := openIn(d, fileLock, unix.O_RDWR, 0, true)
	if err != nil {
		return err
	}
	defer unix.Close(lock)
	if err := flock(lock, unix.LOCK_EX); err != nil {
		return err
	}
	fd, err := openIn(d, fileRecord, unix.O_RDWR, 0, true)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	r, err := readRecord(fd)
	if err != nil {
		return err
	}
	change(&r)
	b := r.encode()
	if len(b) != recordSize {
		return fmt.Errorf("write the record: %d bytes, want %d", len(b), recordSize)
	}
	if err := writeAll(fd, b, 0); err != nil {
		return fmt.Errorf("write the record: %w", err)
	}
	return nil
}

// flock takes the lock how on fd, again when a signal interrupts it. The
// lock is released when fd is closed.
func flock(fd, how int) error {
	for {
		err := unix.Flock(fd, how)
		if err != unix.EINTR {
			if err != nil {
				return fmt.Errorf("lock the record: %w", err)
			}
			return nil
		}
	}
}

func millis(ms int64) (time.Time, bool) {
	if ms <= 0 {
		return time.Time{}, false
	}
	return time.UnixMilli(ms), true
}

package s6

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// StatusSize is the size of s6 2.13's supervise/status (S6_SVSTATUS_SIZE):
// two TAI64N stamps (12 bytes each: updownsince, readysince), the pid and
// the process group (8 bytes each, big endian), the wait status (2 bytes,
// big endian) and one byte of flags.
const StatusSize = 43

// The flags byte of supervise/status (s6_svstatus_unpack).
const (
	stPaused    = 1
	stFinishing = 2
	stWantUp    = 4
	stReady     = 8
)

// dtallySize is one entry of supervise/death_tally: a TAI64N stamp, the
// exit code and the signal (S6_DTALLY_PACK).
const dtallySize = 14

// taiOffset is TAI - UTC in seconds as skalibs counts it (10 + 27 leap
// seconds), for turning s6's TAI64N labels into wall-clock times.
const taiOffset = 37

// Status is what s6-supervise says of a service in supervise/status.
type Status struct {
	Since      time.Time // last change between up and down
	ReadySince time.Time
	Pid        int // 0 when down
	Pgid       int
	Wstat      uint16 // the last run's wait status
	Paused     bool
	Finishing  bool // run died, finish runs
	WantUp     bool
	ReadyFlag  bool // s6's ready flag (true when down and restartable, too)
}

// Up is s6-svstat's "up": a run process exists and finish is not running.
func (s Status) Up() bool { return s.Pid != 0 && !s.Finishing }

// Ready is s6-svstat's "ready": up and notified ready.
func (s Status) Ready() bool { return s.Pid != 0 && s.ReadyFlag }

// Exit is the last run's exit: code (-1 if signaled) and signal (0 if not).
func (s Status) Exit() (code, sig int) {
	if s.Wstat&0x7f == 0 {
		return int(s.Wstat >> 8), 0
	}
	return -1, int(s.Wstat & 0x7f)
}

// ParseStatus decodes the bytes of supervise/status: the one decoder of
// that record. Another size is another s6's format, whose bytes would be
// misread.
func ParseStatus(b []byte) (Status, error) {
	if len(b) != StatusSize {
		return Status{}, fmt.Errorf("%d bytes, want s6 2.13's %d", len(b), StatusSize)
	}
	f := b[42]
	return Status{
		Since:      taiWall(b[0:12]),
		ReadySince: taiWall(b[12:24]),
		Pid:        int(binary.BigEndian.Uint64(b[24:32])),
		Pgid:       int(binary.BigEndian.Uint64(b[32:40])),
		Wstat:      binary.BigEndian.Uint16(b[40:42]),
		Paused:     f&stPaused != 0,
		Finishing:  f&stFinishing != 0,
		WantUp:     f&stWantUp != 0,
		ReadyFlag:  f&stReady != 0,
	}, nil
}

func taiWall(b []byte) time.Time {
	sec := int64(binary.BigEndian.Uint64(b[0:8]) - 1<<62)
	return time.Unix(sec-taiOffset, int64(binary.BigEndian.Uint32(b[8:12])))
}

// ReadStatus reads dir's supervise/status: one read of one file, what
// s6-svstat does, without its exec.
func ReadStatus(dir string) (Status, error) {
	p := filepath.Join(dir, "supervise", "status")
	b, err := os.ReadFile(p)
	if err != nil {
		return Status{}, err
	}
	st, err := ParseStatus(b)
	if err != nil {
		return Status{}, fmt.Errorf("%s: %w", p, err)
	}
	return st, nil
}

// Deaths is the number of deaths s6-supervise keeps in dir's
// supervise/death_tally: every death of run, capped at max-death-tally
// (default 100, at most 4096), the oldest forgotten first.
func Deaths(dir string) int {
	st, err := os.Stat(filepath.Join(dir, "supervise", "death_tally"))
	if err != nil {
		return 0
	}
	return int(st.Size() / dtallySize)
}

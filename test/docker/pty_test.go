package docker_test

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// pty is a pseudo-terminal pair: the test holds the master, a child gets
// the slave as its controlling terminal, as a shell in a terminal window
// would run `docker run -it`.
type pty struct {
	master, slave *os.File

	mu  sync.Mutex
	out bytes.Buffer // everything read from the master
}

func openPty() (*pty, error) {
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	fd := int(m.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil { // unlockpt
		m.Close()
		return nil, fmt.Errorf("unlock pty: %w", err)
	}
	n, err := unix.IoctlGetUint32(fd, unix.TIOCGPTN) // ptsname
	if err != nil {
		m.Close()
		return nil, fmt.Errorf("pty number: %w", err)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(int(n)), os.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		m.Close()
		return nil, err
	}
	// docker run -it sizes the container's terminal after this one.
	unix.IoctlSetWinsize(int(s.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 24, Col: 80})
	return &pty{master: m, slave: s}, nil
}

// attr makes the slave the controlling terminal of a child in a new
// session; its stdin, stdout and stderr must be the slave.
func (p *pty) attr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
}

// started closes the test's copy of the slave, once the child has its
// own, and copies what the child writes into the buffer until it exits.
func (p *pty) started() {
	p.slave.Close()
	go func() {
		b := make([]byte, 4096)
		for {
			n, err := p.master.Read(b)
			p.mu.Lock()
			p.out.Write(b[:n])
			p.mu.Unlock()
			if err != nil { // EIO once no process holds the slave
				return
			}
		}
	}()
}

func (p *pty) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// waitOutput polls until the terminal has shown s.
func (p *pty) waitOutput(s string, max time.Duration) bool {
	for deadline := time.Now().Add(max); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if strings.Contains(p.output(), s) {
			return true
		}
	}
	return false
}

func (p *pty) close() {
	p.master.Close()
	p.slave.Close()
}

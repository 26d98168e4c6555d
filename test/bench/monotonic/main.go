// Command monotonic prints CLOCK_MONOTONIC in nanoseconds as
// "monotonic=N" on stdout, for the benchmark's start-to-CMD latency: the
// benchmark reads the same clock just before it starts PID 1 (no time
// namespace separates the two). With -wait it then waits for SIGTERM or
// SIGINT and exits 0, as a CMD that stops promptly does.
//
// It is built static (CGO_ENABLED=0) into the benchmark's root filesystem
// and run the same way as the CMD of ignity, of tini and as PID 1 alone, so
// its own start-up cost cancels out of the differences.
package main

import (
	"os"
	"os/signal"
	"strconv"

	"golang.org/x/sys/unix"
)

func main() {
	// The clock first: everything after it is not part of the figure.
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	wait := len(os.Args) > 1 && os.Args[1] == "-wait"
	var stop chan os.Signal
	if wait {
		stop = make(chan os.Signal, 1)
		signal.Notify(stop, unix.SIGTERM, unix.SIGINT)
	}
	// One write: the line arrives whole.
	os.Stdout.WriteString("monotonic=" + strconv.FormatInt(ts.Nano(), 10) + "\n")
	if wait {
		<-stop
	}
}

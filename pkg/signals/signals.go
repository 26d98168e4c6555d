// Package signals is ignity's signal policy, written once: every signal
// that means something to the container's PID 1, and its role. The
// stages, s6-svscan's handlers and package early derive their lists from
// Table. It imports nothing of ignity's, and only syscall and os, so that
// package early, whose init runs first, stays light.
package signals

import (
	"os"
	"path/filepath"
	"syscall"
)

// Role is what a signal sent to PID 1 does.
type Role int

const (
	// Stop starts the shutdown (docker stop's SIGTERM).
	Stop Role = iota + 1
	// Interrupt goes to a running CMD's process group, unless
	// IGNITY_CMD_RECEIVE_SIGNALS=0 or it is IGNITY_CMD_STOP_SIGNAL; it
	// starts the shutdown otherwise (Ctrl-C, a JVM's thread dump).
	Interrupt
	// Forward goes to a running CMD's process group, once and unchanged;
	// with no CMD running SIGHUP keeps s6's meaning, rescan, and the
	// others are dropped.
	Forward
	// Ignore means nothing to ignity: stage3, which has no s6-svscan to
	// divert them, catches them so that Go's default does not end it.
	Ignore
)

// Entry is a signal of the table, its name and its role.
type Entry struct {
	Signal syscall.Signal
	Name   string // as unix.SignalName gives it, and s6-svscan's control file names it
	Role   Role
}

// Table is the signal policy. Every signal s6-svscan lets an init divert
// (.s6-svscan/SIG*) has a role other than Ignore; CHLD, ALRM and ABRT have
// fixed reactions in s6-svscan, and the kernel drops every other signal
// sent to a PID namespace's init (see the README's signal table).
var Table = []Entry{
	{syscall.SIGTERM, "SIGTERM", Stop},
	{syscall.SIGINT, "SIGINT", Interrupt},
	{syscall.SIGQUIT, "SIGQUIT", Interrupt},
	{syscall.SIGHUP, "SIGHUP", Forward},
	{syscall.SIGUSR1, "SIGUSR1", Forward},
	{syscall.SIGUSR2, "SIGUSR2", Forward},
	{syscall.SIGWINCH, "SIGWINCH", Forward},
	{syscall.SIGPWR, "SIGPWR", Forward},
	{syscall.SIGABRT, "SIGABRT", Ignore},
	{syscall.SIGPIPE, "SIGPIPE", Ignore},
	{syscall.SIGTSTP, "SIGTSTP", Ignore},
	{syscall.SIGTTIN, "SIGTTIN", Ignore},
	{syscall.SIGTTOU, "SIGTTOU", Ignore},
}

// Term is the signal the shutdown sends every process (and stage2, while
// it boots) to end it: the Stop signal.
const Term = syscall.SIGTERM

// RoleOf is sig's role, or 0 when the table does not hold it.
func RoleOf(sig syscall.Signal) Role {
	for _, e := range Table {
		if e.Signal == sig {
			return e.Role
		}
	}
	return 0
}

// Of lists the signals of the given roles, in the table's order.
func Of(roles ...Role) []os.Signal {
	var list []os.Signal
	for _, e := range Table {
		for _, r := range roles {
			if e.Role == r {
				list = append(list, e.Signal)
			}
		}
	}
	return list
}

// Diverted lists the signals s6-svscan hands to ignity, by running
// .s6-svscan/NAME: every role but Ignore.
func Diverted() []Entry {
	var list []Entry
	for _, e := range Table {
		if e.Role != Ignore {
			list = append(list, e)
		}
	}
	return list
}

// Caught are the signals a PID-1 stage catches from its first init
// function (package early): those that s6-svscan would divert, whose
// meaning must wait until the stage's code runs.
func Caught() []os.Signal { return Of(Stop, Interrupt, Forward) }

// All lists every signal of the table: what stage3, with no s6-svscan
// left, catches (or ignores, on its degraded path).
func All() []os.Signal { return Of(Stop, Interrupt, Forward, Ignore) }

// Action is what a diverted signal does once s6-svscan runs.
type Action int

const (
	Shutdown Action = iota + 1 // start the shutdown
	ToCmd                      // send it to the CMD's process group
	Rescan                     // tell s6-svscan to rescan its scandir
	Drop                       // nothing
)

// Policy is what decides an Interrupt signal: whether a CMD runs, and the
// configuration's IGNITY_CMD_RECEIVE_SIGNALS and IGNITY_CMD_STOP_SIGNAL
// (Receive false when the configuration cannot be read).
type Policy struct {
	CmdRunning bool
	Receive    bool
	CmdStop    syscall.Signal
}

// Act is what sig does under p: the rule of each role (see Role). A
// signal the table does not hold, or ignores, is dropped.
func Act(sig syscall.Signal, p Policy) Action {
	switch RoleOf(sig) {
	case Stop:
		return Shutdown
	case Interrupt:
		if p.CmdRunning && p.Receive && p.CmdStop != sig {
			return ToCmd
		}
		return Shutdown
	case Forward:
		switch {
		case p.CmdRunning:
			return ToCmd
		case sig == syscall.SIGHUP:
			return Rescan
		}
	}
	return Drop
}

// Control is the name of the control file of s6-svscan's that argv0 runs
// as (".s6-svscan/NAME", relative to the scandir), or "" when it is none:
// a diverted signal's (see Diverted), or finish and crash, which are
// stage3 (see RunsStage3).
func Control(argv0 string) string {
	if filepath.Base(filepath.Dir(argv0)) != ".s6-svscan" {
		return ""
	}
	return filepath.Base(argv0)
}

// RunsStage3 tells whether the control file name is stage3: s6-svscan's
// finish, which it execs once it is told to exit, and crash, which it
// execs should it fail.
func RunsStage3(name string) bool { return name == "finish" || name == "crash" }

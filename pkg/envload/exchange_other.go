//go:build !linux

package envload

import (
	"errors"
	"syscall"
)

var errEINVAL error = syscall.EINVAL

// exchange is Linux's renameat2; elsewhere WriteDir falls back to renames.
func exchange(a, b string) error { return errors.ErrUnsupported }

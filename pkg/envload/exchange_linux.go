package envload

import "golang.org/x/sys/unix"

// errEINVAL is what renameat2 returns when the filesystem does not
// implement RENAME_EXCHANGE.
var errEINVAL error = unix.EINVAL

// exchange swaps the directories a and b in one step: a reader of b sees
// either the old or the new envdir, never none.
func exchange(a, b string) error {
	return unix.Renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, b, unix.RENAME_EXCHANGE)
}

package check

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ignity/ignity/pkg/layout"
)

// ---- fixtures ----

func write(t *testing.T, root, rel, content string, mode os.FileMode) {
	t.Helper()
	p := filepath.Join(root, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	os.Remove(p)
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil { // past the umask
		t.Fatal(err)
	}
}

func link(t *testing.T, root, rel, target string) {
	t.Helper()
	p := filepath.Join(root, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(p)
	if err := os.Symlink(target, p); err != nil {
		t.Fatal(err)
	}
}

func remove(t *testing.T, root, rel string) {
	t.Helper()
	if err := os.RemoveAll(filepath.Join(root, rel)); err != nil {
		t.Fatal(err)
	}
}

// elfBinary is a minimal x86-64 ELF executable whose dynamic loader is
// interp ("" for a static one): enough for the kernel's and debug/elf's
// header checks.
func elfBinary(t *testing.T, interp string) string {
	t.Helper()
	const ehsize, phentsize = 64, 56
	h := elf.Header64{
		Type: uint16(elf.ET_EXEC), Machine: uint16(elf.EM_X86_64), Version: uint32(elf.EV_CURRENT),
		Ehsize: ehsize, Phentsize: phentsize, Shentsize: 64,
	}
	copy(h.Ident[:], elf.ELFMAG)
	h.Ident[elf.EI_CLASS] = byte(elf.ELFCLASS64)
	h.Ident[elf.EI_DATA] = byte(elf.ELFDATA2LSB)
	h.Ident[elf.EI_VERSION] = byte(elf.EV_CURRENT)
	var b bytes.Buffer
	if interp == "" {
		binary.Write(&b, binary.LittleEndian, h)
		return b.String()
	}
	h.Phoff, h.Phnum = ehsize, 1
	name := interp + "\x00"
	binary.Write(&b, binary.LittleEndian, h)
	binary.Write(&b, binary.LittleEndian, elf.Prog64{
		Type: uint32(elf.PT_INTERP), Flags: uint32(elf.PF_R),
		Off: ehsize + phentsize, Filesz: uint64(len(name)), Memsz: uint64(len(name)), Align: 1,
	})
	b.WriteString(name)
	return b.String()
}

// cleanTree builds, under root, a usrmerged image (/bin -> usr/bin) with a
// configuration that has nothing wrong: env, perms, init and finalize
// scripts, a logged service with every s6 control file, a service reached
// through a services-available symlink, and one whose run is an ELF binary.
// noBinExeclineb makes cleanTree's image one whose /bin is a real
// directory (as busybox's) without execlineb, and gives it a service
// whose run names #!/bin/execlineb.
func noBinExeclineb(t *testing.T, root string) {
	os.Remove(filepath.Join(root, "bin"))
	write(t, root, "bin/sh", "#!ELF-ish stand-in\n", 0o755)
	write(t, root, "usr/bin/execlineb", "#!/bin/sh\n", 0o755)
	write(t, root, "etc/ignity/services/el/run", "#!/bin/execlineb -P\nexit 0\n", 0o755)
}

func cleanTree(t *testing.T, root string) {
	t.Helper()
	write(t, root, "etc/passwd", "root:x:0:0:root:/root:/bin/sh\nwww-data:x:33:33::/var/www:/bin/false\n", 0o644)
	write(t, root, "etc/group", "root:x:0:\nwww-data:x:33:\nstaff:x:50:\n", 0o644)
	write(t, root, "usr/bin/sh", "#!ELF-ish stand-in\n", 0o755)
	write(t, root, "usr/bin/env", "#!ELF-ish stand-in\n", 0o755)
	write(t, root, "usr/lib/ld-test.so.1", "", 0o755)
	link(t, root, "bin", "usr/bin")
	link(t, root, "lib", "/usr/lib") // absolute: resolved inside the root

	write(t, root, "etc/ignity/envs/10-app", "APP_PORT=8080\nIGNITY_KILL_GRACETIME=1000\n", 0o644)
	write(t, root, "etc/ignity/perms/10-www", "# web root\n/srv/www www-data:staff 0644 0755\n/srv/cache 33 0600 0700\n", 0o644)
	write(t, root, "etc/ignity/init/10-setup", "#!/bin/sh\necho setup\n", 0o755)
	write(t, root, "etc/ignity/finalize/10-bye", "#!/usr/bin/env sh\necho bye\n", 0o755)

	web := "etc/ignity/services/web/"
	write(t, root, web+"run", "#!/bin/sh -e\nexec httpd\n", 0o755)
	write(t, root, web+"finish", "#!/bin/sh\n", 0o755)
	write(t, root, web+"notification-fd", "3\n", 0o644)
	write(t, root, web+"lock-fd", "4\n", 0o644)
	write(t, root, web+"timeout-kill", "2000\n", 0o644)
	write(t, root, web+"timeout-finish", "0\n", 0o644)
	write(t, root, web+"max-death-tally", "4096\n", 0o644)
	write(t, root, web+"down-signal", "SIGHUP\n", 0o644)
	write(t, root, web+"down", "", 0o644)
	write(t, root, web+"README", "notes\n", 0o644)
	write(t, root, web+"data/config", "x\n", 0o644)
	write(t, root, web+"log/run", "#!/usr/bin/env -S sh -e\nexec logger\n", 0o755)
	write(t, root, web+"log/down-signal", "term\n", 0o644)

	write(t, root, "etc/ignity/services-available/api/run", "#!/bin/sh\n", 0o755)
	link(t, root, "etc/ignity/services/api", "/etc/ignity/services-available/api")

	write(t, root, "etc/ignity/services/native/run", elfBinary(t, "/lib/ld-test.so.1"), 0o755)
	write(t, root, "etc/ignity/services/static/run", elfBinary(t, ""), 0o755)
}

func strs(ps []Problem) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.String())
	}
	return out
}

// ---- Run ----

func TestRun(t *testing.T) {
	const (
		init    = "/etc/ignity/init/"
		svc     = "/etc/ignity/services/"
		web     = "/etc/ignity/services/web/"
		noUsage = "no #! line and not an ELF binary: start it with an interpreter line like #!/bin/sh"
	)
	tests := []struct {
		name   string
		setup  func(t *testing.T, root string)
		env    []string
		strict bool
		want   []string
	}{
		{
			name: "clean tree",
		},
		{
			name: "clean tree with a container user",
			setup: func(t *testing.T, root string) {
				write(t, root, "etc/ignity/perms/20-user",
					"/data app 0640 0750\n/data app:app 0640 0750\n/data {{USERMAP_UID}} 0640 0750\n/data {{USERMAP_UID}}:{{USERMAP_GID}} 0640 0750\n", 0o644)
			},
			env: []string{"USER=app", "USERMAP_UID=1000", "USERMAP_GID=1000"},
		},

		// s6-overlay's layout
		{
			name: "fix-attrs.d lines",
			setup: func(t *testing.T, root string) {
				write(t, root, "etc/fix-attrs.d/01-data", "/data true root 0600 0700\n/data maybe root 0600 0700\n", 0o644)
				write(t, root, "etc/fix-attrs.d/02-acct", "/data true nobody 0600 0700\n", 0o644)
			},
			want: []string{
				`/etc/fix-attrs.d/01-data:2: bad recurse "maybe" (want true or false)`,
				`/etc/fix-attrs.d/02-acct:1: account "nobody": user "nobody" not found in /etc/passwd (create it in the image first, or append a fallback: "nobody,UID:GID")`,
			},
		},
		{
			name: "cont-init.d and cont-finish.d scripts, programs not shipped",
			setup: func(t *testing.T, root string) {
				write(t, root, "etc/cont-init.d/10-ok", "#!/bin/sh\necho fine\n", 0o755)
				write(t, root, "etc/cont-init.d/20-noexec", "#!/bin/sh\n", 0o644)
				write(t, root, "etc/cont-init.d/30-rc", "#!/bin/sh\n# s6-rc-db is only named in a comment\nif s6-rc-db list all | grep -q x; then s6-cat f; fi\ns6-cat again\n", 0o755)
				write(t, root, "etc/cont-finish.d/10-halt", "#!/bin/sh\nexec /run/s6/basedir/bin/s6-linux-init-hpr -f -p\n", 0o755)
				write(t, root, "etc/ignity/services/web/finish", "#!/bin/sh\nfix-attrs < /etc/fix-attrs.d/x\n", 0o755)
			},
			strict: true,
			want: []string{
				`/etc/cont-finish.d/10-halt:2: calls s6-linux-init-hpr, which ignity does not ship (s6-linux-init: ignity is the init; stop the container with /run/s6/basedir/bin/halt or s6-svscanctl -t /run/service)`,
				`warning: /etc/cont-init.d/20-noexec: not executable: ignity makes it executable at boot, as s6-overlay v2 did (chmod +x it in the image, which a read-only root needs)`,
				`/etc/cont-init.d/30-rc:3: calls s6-rc-db, which ignity does not ship (s6-rc's tools: ignity has no compiled service database; its s6-rc applet lists and changes services, and ignity status shows them)`,
				`/etc/cont-init.d/30-rc:3: calls s6-cat, which ignity does not ship (s6-portable-utils: use the image's own tool (echo, cat, sleep, mkdir, ...), or install s6-portable-utils in the image)`,
				`/etc/ignity/services/web/finish:2: calls fix-attrs, which ignity does not ship (s6-overlay's fix-attrs: ignity applies /etc/fix-attrs.d itself at boot; for lines at build time, pipe them to fix-perms)`,
			},
		},
		{
			name: "new knobs validated",
			env:  []string{"IGNITY_FIX_ATTRS_HIDDEN=yes", "S6_KEEP_ENV=2"},
			want: []string{
				`environment: S6_KEEP_ENV="2": want 0 or 1`,
				`environment: IGNITY_FIX_ATTRS_HIDDEN="yes": want 0 or 1`,
			},
		},
		{
			name: "a program not shipped that the image has",
			setup: func(t *testing.T, root string) {
				write(t, root, "usr/bin/s6-cat", "#!/bin/sh\n", 0o755)
				write(t, root, "etc/cont-init.d/10-echo", "#!/bin/sh\ns6-cat hi\n", 0o755)
			},
		},
		{
			name: "S6_ variables",
			setup: func(t *testing.T, root string) {
				write(t, root, "etc/ignity/envs/20-s6", "S6_SERVICES_GRACETIME=soon\nS6_LOGGING=1\n", 0o644)
			},
			env:    []string{"S6_VERBOSITY=3", "IGNITY_VERBOSITY=1", "S6_READ_ONLY_ROOT=1"},
			strict: true,
			want: []string{
				`/etc/ignity/envs/20-s6:1: bad value of S6_SERVICES_GRACETIME: want a whole number of milliseconds (0 or more)`,
				`warning: /etc/ignity/envs/20-s6:2: S6_LOGGING is not supported: ignity has no catch-all logger: the services' output goes to the container's; prefix it with IGNITY_LOG_PREFIX=1, or give a service a log/run with logutil-service`,
				`warning: environment: IGNITY_VERBOSITY="1" and S6_VERBOSITY="3" are both set: IGNITY_VERBOSITY wins`,
			},
		},

		// 1. perms
		{
			name: "perms syntax",
			setup: func(t *testing.T, root string) {
				write(t, root, "etc/ignity/perms/20-bad", "/data root 0644\n/data root 07x5 0755\n/data {{NOPE}} 0644 0755\n", 0o644)
			},
			want: []string{
				`/etc/ignity/perms/20-bad:1: want "path account fmode dmode" or "path recurse account fmode dmode", got 3 fields`,
				`/etc/ignity/perms/20-bad:2: bad file mode "07x5" (want octal like 0644)`,
				`/etc/ignity/perms/20-bad:3: unknown variable "NOPE" in "{{NOPE}}"`,
			},
		},
		{
			name: "perms accounts",
			setup: func(t *testing.T, root string) {
				write(t, root, "etc/ignity/perms/20-acct",
					"/data nobody 0644 0755\n/data root:nogroup 0644 0755\n/data 1234 0644 0755\n/data nobody,99:99 0644 0755\n/data app 0644 0755\n", 0o644)
			},
			want: []string{
				`/etc/ignity/perms/20-acct:1: account "nobody": user "nobody" not found in /etc/passwd (create it in the image first, or append a fallback: "nobody,UID:GID")`,
				`/etc/ignity/perms/20-acct:2: account "root:nogroup": group "nogroup" not found in /etc/group (create it in the image first, or append a fallback: "root:nogroup,UID:GID")`,
				`/etc/ignity/perms/20-acct:3: account "1234": uid 1234 has no /etc/passwd entry to give its primary group (write 1234:GID) (create it in the image first, or append a fallback: "1234,UID:GID")`,
				`/etc/ignity/perms/20-acct:5: account "app": user "app" not found in /etc/passwd (create it in the image first, or append a fallback: "app,UID:GID")`,
			},
		},
		{
			name: "USERMAP_UID without USER",
			env:  []string{"USERMAP_UID=1000"}, // preboot would give root uid 1000
			want: []string{
				`environment: USER root exists in /etc/passwd as 0:0 but USERMAP_UID:USERMAP_GID ask for 1000:0: ignity cannot create it and refuses to boot (make them match, or name another USER)`,
			},
		},
		{
			name: "container user clashing with the image's",
			setup: func(t *testing.T, root string) {
				write(t, root, "etc/passwd", "root:x:0:0::/root:/bin/sh\nwww-data:x:33:33::/:/bin/false\napp:x:1001:1001::/home/app:/bin/sh\n", 0o644)
				write(t, root, "etc/ignity/perms/20-user", "/data app 0640 0750\n", 0o644)
			},
			env: []string{"USER=app", "USERMAP_UID=1000", "USERMAP_GID=1000"},
			want: []string{
				`environment: USER app exists in /etc/passwd as 1001:1001 but USERMAP_UID:USERMAP_GID ask for 1000:1000: ignity cannot create it and refuses to boot (make them match, or name another USER)`,
			},
		},
		{
			name: "perms skipped: only warnings",
			setup: func(t *testing.T, root string) {
				write(t, root, "etc/ignity/perms/20-acct", "/data nobody 0644 0755\n", 0o644)
				write(t, root, "etc/ignity/perms/30-bad", "/data root 0644\n", 0o644)
			},
			env: []string{"IGNITY_SKIP_PERMS=1"},
			want: []string{
				`warning: /etc/ignity/perms/20-acct:1: account "nobody": user "nobody" not found in /etc/passwd (create it in the image first, or append a fallback: "nobody,UID:GID")`,
				`warning: /etc/ignity/perms/30-bad:1: want "path account fmode dmode" or "path recurse account fmode dmode", got 3 fields`,
			},
		},

		// 2. env files
		{
			name: "env file syntax",
			setup: func(t *testing.T, root string) {
				write(t, root, "etc/ignity/envs/20-bad",
					"GOOD=1\nBAD NAME=hunter2\n1X=hunter2\nQ='hunter2' hunter2\nnothing-here\nU=\"hunter2\n", 0o644)
			},
			want: []string{
				`/etc/ignity/envs/20-bad:2: invalid variable name at column 4: want a letter, a digit, '_' or '.'`,
				`/etc/ignity/envs/20-bad:3: invalid variable name at column 1: want a letter or '_'`,
				`/etc/ignity/envs/20-bad:4: unexpected text after the closing quote of Q`,
				`/etc/ignity/envs/20-bad:5: missing '=' (want NAME=value)`,
				`/etc/ignity/envs/20-bad:6: unterminated double-quoted value of U`,
			},
		},
		{
			name: "env file symlink leading out of the image",
			setup: func(t *testing.T, root string) {
				link(t, root, "etc/ignity/envs/30-host", "/etc/hostname") // the host's, not the image's
			},
			want: []string{
				`/etc/ignity/envs/30-host: dangling symlink to "/etc/hostname": ignity fails to load it at boot (point it inside the image, or remove it)`,
			},
		},

		// 3. programs
		{
			name: "init scripts",
			setup: func(t *testing.T, root string) {
				write(t, root, "etc/ignity/init/20-noexec", "#!/bin/sh\n", 0o644)
				write(t, root, "etc/ignity/init/21-bash", "#!/bin/bash\n", 0o755)
				write(t, root, "etc/ignity/init/22-text", "echo hi\n", 0o755)
				write(t, root, "etc/ignity/init/23-crlf", "#!/bin/sh\r\necho hi\r\n", 0o755)
				write(t, root, "etc/ignity/init/24-envargs", "#!/usr/bin/env sh -e\n", 0o755)
				write(t, root, "etc/ignity/init/25-envpath", "#!/usr/bin/env python3\n", 0o755)
				write(t, root, "etc/ignity/init/26-empty", "#!\n", 0o755)
				write(t, root, "etc/ignity/init/27-dir/x", "", 0o644)
				link(t, root, "etc/ignity/init/28-dangling", "/usr/local/bin/setup")
				write(t, root, "etc/ignity/init/29-relative", "#!bin/sh\n", 0o755)
				write(t, root, "etc/ignity/init/30-withenv", "#!/usr/bin/with-env sh\n", 0o755)
				write(t, root, "usr/bin/with-env", "", 0o755)
				write(t, root, "etc/ignity/init/31-interp-noexec", "#!/usr/bin/tool\n", 0o755)
				write(t, root, "usr/bin/tool", "", 0o644)
				write(t, root, "etc/ignity/init/.hidden", "not run\n", 0o644)
			},
			want: []string{
				init + `20-noexec: not executable: chmod +x it`,
				init + `21-bash:1: #! interpreter /bin/bash not found in the image`,
				init + `22-text: ` + noUsage,
				init + `23-crlf:1: the #! line ends with a carriage return (Windows line ends), which the kernel takes as part of the interpreter's name: convert the file to LF line ends (dos2unix)`,
				init + `24-envargs:1: #!/usr/bin/env sh -e: the kernel passes "sh -e" to env as one argument, and no program has that name: write #!/usr/bin/env -S sh -e, or name the interpreter by its path`,
				`warning: ` + init + `25-envpath:1: #!/usr/bin/env python3: no executable python3 in any directory of the default PATH ` + layout.DefaultPath + `: install it, or name the interpreter by its path`,
				init + `26-empty:1: empty #! line: name an interpreter, like #!/bin/sh`,
				init + `27-dir: is a directory, not a program`,
				init + `28-dangling: dangling symlink to "/usr/local/bin/setup": the program it names is not in the image`,
				init + `29-relative:1: #! interpreter "bin/sh" is not an absolute path`,
				init + `31-interp-noexec:1: #! interpreter /usr/bin/tool is not executable`,
			},
		},
		{
			name: "env lookup follows PATH",
			setup: func(t *testing.T, root string) {
				write(t, root, "opt/py/bin/python3", "", 0o755)
				write(t, root, "etc/ignity/init/25-envpath", "#!/usr/bin/env python3\n", 0o755)
			},
			env: []string{"PATH=/opt/py/bin:/usr/bin"},
		},
		{
			name: "env lookup with PATH from an env file",
			setup: func(t *testing.T, root string) {
				write(t, root, "etc/ignity/envs/20-path", "PATH=/nowhere:/usr/bin\n", 0o644)
				write(t, root, "etc/ignity/init/25-envpath", "#!/usr/bin/env python3\n", 0o755)
			},
			want: []string{
				`warning: ` + init + `25-envpath:1: #!/usr/bin/env python3: no executable python3 in any directory of the PATH set at /etc/ignity/envs/20-path:1: install it, or name the interpreter by its path`,
			},
		},
		{
			name: "ELF binaries",
			setup: func(t *testing.T, root string) {
				write(t, root, "etc/ignity/finalize/20-glibc", elfBinary(t, "/lib64/ld-linux-x86-64.so.2"), 0o755)
				write(t, root, "etc/ignity/finalize/21-broken", "\x7fELF garbage", 0o755)
			},
			want: []string{
				`/etc/ignity/finalize/20-glibc: its dynamic loader /lib64/ld-linux-x86-64.so.2 is not in the image: the binary was built for another libc or distribution (install that libc, or use a static build)`,
				`warning: /etc/ignity/finalize/21-broken: cannot read it as an ELF binary (EOF): its dynamic loader is not checked`,
			},
		},
		{
			name: "service programs",
			setup: func(t *testing.T, root string) {
				remove(t, root, "etc/ignity/services/web/run")
				write(t, root, "etc/ignity/services/web/finish", "exit 0\n", 0o755)
				remove(t, root, "etc/ignity/services/web/log/run")
				write(t, root, "etc/ignity/services/web/log/finish", "#!/bin/sh\n", 0o600)
				write(t, root, "etc/ignity/services/notdir", "", 0o755)
				write(t, root, "etc/ignity/services/rel/run", "", 0o755)
				write(t, root, "etc/ignity/services/common/run", "#!/bin/sh\n", 0o755)
				link(t, root, "etc/ignity/services/rel/run", "../common/run")
				write(t, root, "etc/ignity/services/badlog/run", "#!/bin/sh\n", 0o755)
				write(t, root, "etc/ignity/services/badlog/log", "", 0o644)
			},
			want: []string{
				svc + `badlog/log: not a directory: a logger is a service dir with its own run program`,
				svc + `notdir: not a directory: a service is a directory holding a run program`,
				svc + `rel/run: relative symlink to "../common/run" leads out of the service dir: ignity runs a copy of the dir under /run/ignity, where it leads elsewhere (use an absolute target)`,
				web[:len(web)-1] + `: no run program: s6 starts a service by executing its run file (add an executable run)`,
				web + `finish: ` + noUsage,
				web + `log: no run program: s6 starts a service by executing its run file (add an executable run)`,
				web + `log/finish: not executable: chmod +x it`,
			},
		},

		// 4. typos
		{
			name: "service dir typos",
			setup: func(t *testing.T, root string) {
				remove(t, root, "etc/ignity/services/web/notification-fd")
				remove(t, root, "etc/ignity/services/web/timeout-kill")
				remove(t, root, "etc/ignity/services/web/down-signal")
				remove(t, root, "etc/ignity/services/web/max-death-tally")
				write(t, root, "etc/ignity/services/web/notification_fd", "3\n", 0o644)
				write(t, root, "etc/ignity/services/web/timeout-kil", "3\n", 0o644)
				write(t, root, "etc/ignity/services/web/Down_Signal", "TERM\n", 0o644)
				write(t, root, "etc/ignity/services/web/max_death_tally", "3\n", 0o644)
				write(t, root, "etc/ignity/services/web/timeout_finish", "3\n", 0o644) // timeout-finish exists: not a typo
				write(t, root, "etc/ignity/services/web/nosetsid", "", 0o644)
				write(t, root, "etc/ignity/services/web/flag-newpidns", "", 0o644) // s6 2.13 reads it: no warning
				write(t, root, "etc/ignity/services/web/log/notification-fb", "3\n", 0o644)
				remove(t, root, "etc/ignity/services-available/api/run") // the host cannot follow the absolute link
				write(t, root, "etc/ignity/services-available/api/run.sh", "#!/bin/sh\n", 0o755)
			},
			want: []string{
				svc + `api: no run program: s6 starts a service by executing its run file (add an executable run)`,
				`warning: ` + svc + `api/run.sh: s6 does not read run.sh: did you mean run?`,
				`warning: ` + web + `Down_Signal: s6 does not read Down_Signal: did you mean down-signal?`,
				`warning: ` + web + `log/notification-fb: s6 does not read notification-fb: did you mean notification-fd?`,
				`warning: ` + web + `max_death_tally: s6 does not read max_death_tally: did you mean max-death-tally?`,
				`warning: ` + web + `nosetsid: s6 2.11 no longer reads nosetsid: s6-supervise always starts the service as a session leader; remove it`,
				`warning: ` + web + `notification_fd: s6 does not read notification_fd: did you mean notification-fd?`,
				`warning: ` + web + `timeout-kil: s6 does not read timeout-kil: did you mean timeout-kill?`,
			},
		},

		// 4b. ignity's own service files
		{
			name: "ignity service files",
			setup: func(t *testing.T, root string) {
				write(t, root, "etc/ignity/services/web/essential", "", 0o644)
				write(t, root, "etc/ignity/services/web/max-deaths", "5\n", 0o644)
				write(t, root, "etc/ignity/services/web/keep-leftover", "", 0o644)
			},
			want: []string{
				`warning: ` + web + `keep-leftover: s6 does not read keep-leftover: did you mean keep-leftovers?`,
				web + `max-deaths: want "DEATHS SECONDS" (e.g. "5 60"), got 1 fields`,
				`warning: ` + web + `max-deaths: an essential service never reaches its crash-loop limit: its first death stops the container`,
			},
		},

		// 5. s6 control file values
		{
			name: "s6 control file values",
			setup: func(t *testing.T, root string) {
				w := "etc/ignity/services/web/"
				write(t, root, w+"notification-fd", "fd3\n", 0o644)
				write(t, root, w+"lock-fd", "-1\n", 0o644)
				write(t, root, w+"timeout-kill", "5s\n", 0o644)
				write(t, root, w+"timeout-finish", "1000\r\n", 0o644)
				write(t, root, w+"max-death-tally", "5000\n", 0o644)
				write(t, root, w+"down-signal", "TERMINATE\n", 0o644)
				write(t, root, w+"log/notification-fd", "1\n", 0o644)
				write(t, root, w+"log/down-signal", "0\n", 0o644)
				write(t, root, w+"log/timeout-kill", "", 0o644)
				api := "etc/ignity/services-available/api/" // reached through services/api
				write(t, root, api+"notification-fd", "5\n", 0o644)
				write(t, root, api+"lock-fd", "5", 0o644)
				write(t, root, api+"down-signal", "sigusr1\n", 0o644)
			},
			want: []string{
				svc + `api/notification-fd: same fd as lock-fd (5): s6 refuses to start the service; pick another`,
				web + `down-signal: want a signal name like TERM or SIGTERM, or a number from 1 to 64, got "TERMINATE"`,
				web + `lock-fd: want an unsigned integer (the fd the service holds its lock on), got "-1"`,
				web + `log/down-signal: want a signal name like TERM or SIGTERM, or a number from 1 to 64, got "0"`,
				`warning: ` + web + `log/notification-fd: fd 1 is the service's stdout, which s6 replaces with the readiness pipe: want an integer >= 3, unless the daemon reports readiness there on purpose`,
				web + `log/timeout-kill: want a whole number of milliseconds (0 or more), got an empty line`,
				web + `max-death-tally: want an integer from 0 to 4096, got "5000"`,
				web + `notification-fd: want an integer >= 3 (the fd the service writes its readiness line to), got "fd3"`,
				web + `timeout-finish: want a whole number of milliseconds (0 or more), got "1000\r"`,
				web + `timeout-kill: want a whole number of milliseconds (0 or more), got "5s"`,
			},
		},

		// 6. knobs
		{
			name:   "unknown knobs, strict",
			strict: true,
			setup: func(t *testing.T, root string) {
				write(t, root, "etc/ignity/envs/20-knobs", "IGNITY_SERVICE_GRACETIME=1\nIGNITY_FOO=1\n", 0o644)
			},
			env: []string{"IGNITY_KILL_GRACE_TIME=100", "IGNITY_USERMAP_UID=1000", "ignity_verbosity=2", "IGNITY_KILL_GRACE_TIME=200"},
			want: []string{
				`/etc/ignity/envs/20-knobs:1: unknown knob IGNITY_SERVICE_GRACETIME: did you mean IGNITY_SERVICES_GRACETIME?`,
				`/etc/ignity/envs/20-knobs:2: unknown knob IGNITY_FOO: ignity has no such setting (see the Knobs table of its README)`,
				`environment: unknown knob IGNITY_KILL_GRACE_TIME: did you mean IGNITY_KILL_GRACETIME?`,
				`environment: unknown knob IGNITY_USERMAP_UID: did you mean USERMAP_UID?`,
				`environment: unknown knob ignity_verbosity: did you mean IGNITY_VERBOSITY?`,
			},
		},
		{
			name: "unknown knobs at boot are warnings",
			env:  []string{"IGNITY_KILL_GRACE_TIME=100"},
			want: []string{
				`warning: environment: unknown knob IGNITY_KILL_GRACE_TIME: did you mean IGNITY_KILL_GRACETIME?`,
			},
		},
		{
			name: "bad knob values",
			setup: func(t *testing.T, root string) {
				write(t, root, "etc/ignity/envs/20-knobs", "IGNITY_VERBOSITY=hunter2\nIGNITY_SYNC_DISKS=hunter2\nUSER=hunter2:x\n", 0o644)
			},
			env: []string{"IGNITY_KILL_GRACETIME=3s", "IGNITY_SYNC_DISKS=1"}, // the environment wins over the file
			want: []string{
				`/etc/ignity/envs/20-knobs:1: bad value of IGNITY_VERBOSITY: want 0, 1 or 2`,
				`/etc/ignity/envs/20-knobs:3: bad value of USER: want an account name without ':', '/' or newlines`,
				`environment: IGNITY_KILL_GRACETIME="3s": want a whole number of milliseconds (0 or more)`,
			},
		},
		{
			name: "variables an envdir cannot carry",
			setup: func(t *testing.T, root string) {
				write(t, root, "etc/ignity/envs/20-big", "BIG=\""+strings.Repeat("x", 200000)+"\"\n", 0o644)
			},
			env: []string{"NOEQUALS"},
			want: []string{
				`warning: /etc/ignity/envs/20-big:1: variable "BIG": value of 200000 bytes is over the exec limit of 131067 for this name; ignity leaves it out of the environment`,
				`warning: environment: environment entry "NOEQUALS": no '=' (want NAME=value); ignity leaves it out`,
			},
		},

		// 7. symlinked service dirs
		{
			name: "services-available symlinks",
			setup: func(t *testing.T, root string) {
				link(t, root, "etc/ignity/services/gone", "/etc/ignity/services-available/gone")
				write(t, root, "etc/ignity/services-available/rel/run", "#!/bin/sh\n", 0o755)
				link(t, root, "etc/ignity/services/rel", "../services-available/rel")
				link(t, root, "etc/ignity/services/.hidden", "/nowhere")
			},
			want: []string{
				svc + `gone: dangling symlink to "/etc/ignity/services-available/gone": the service dir it names is not in the image`,
			},
		},

		// sorting
		{
			name: "sorted by path then line",
			setup: func(t *testing.T, root string) {
				// Found in this order: the syntax error of line 2 while parsing,
				// then the unknown knob of line 1, then the scripts.
				write(t, root, "etc/ignity/envs/20-mixed", "IGNITY_NOPE=1\nBAD NAME=1\n", 0o644)
				write(t, root, "etc/ignity/init/05-a", "echo\n", 0o755)
				write(t, root, "etc/ignity/finalize/99-z", "echo\n", 0o755)
			},
			env: []string{"IGNITY_ALSO_NOPE=1"},
			want: []string{
				`/etc/ignity/envs/20-mixed:1: unknown knob IGNITY_NOPE: ignity has no such setting (see the Knobs table of its README)`,
				`/etc/ignity/envs/20-mixed:2: invalid variable name at column 4: want a letter, a digit, '_' or '.'`,
				`/etc/ignity/finalize/99-z: ` + noUsage,
				`/etc/ignity/init/05-a: ` + noUsage,
				`environment: unknown knob IGNITY_ALSO_NOPE: ignity has no such setting (see the Knobs table of its README)`,
			},
			strict: true,
		},
		{
			name:   "#!/bin/execlineb missing, at build time",
			setup:  noBinExeclineb,
			strict: true,
			want:   []string{`warning: /etc/ignity/services/el/run:1: #! interpreter /bin/execlineb is not in the image: /init creates it at boot when the root filesystem is writable; for a read-only root, run /usr/src/install-ignity.sh at build time (it copies it there), or write #!/usr/bin/execlineb`},
		},
		{
			name:  "#!/bin/execlineb missing, at boot",
			setup: noBinExeclineb,
			want:  []string{`/etc/ignity/services/el/run:1: #! interpreter /bin/execlineb is not in the image, and /init could not create it (read-only root, or not root): run /usr/src/install-ignity.sh at build time (it copies it there), or write #!/usr/bin/execlineb`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			cleanTree(t, root)
			if tt.setup != nil {
				tt.setup(t, root)
			}
			got := strs(Run(layout.Layout{Root: root}, tt.env, tt.strict))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Run:\n got  %s\n want %s", strings.Join(got, "\n      "), strings.Join(tt.want, "\n      "))
			}
		})
	}
}

func TestRunEmptyRoot(t *testing.T) {
	if got := Run(layout.Layout{Root: t.TempDir()}, nil, true); len(got) != 0 {
		t.Errorf("Run on an empty root = %q, want nothing", strs(got))
	}
}

// TestNoValueLeaks feeds env files whose every bad line carries a secret
// and checks that no message quotes it.
func TestNoValueLeaks(t *testing.T) {
	const secret = "s3cr3t-MARKER"
	lines := []string{
		"BAD NAME=" + secret,
		"1X=" + secret,
		secret,
		"Q='" + secret + "' " + secret,
		"IGNITY_KILL_GRACETIME=" + secret,
		"IGNITY_SKIP_PERMS=" + secret,
		"IGNITY_VERBOSITY=" + secret,
		"USERMAP_UID=" + secret,
		"USER=" + secret + ":x",
		"IGNITY_TYPO=" + secret,
		"PATH=/" + secret,
		"BIG=\"" + secret + strings.Repeat("x", 140000) + "\"",
		"U=\"" + secret,
	}
	root := t.TempDir()
	cleanTree(t, root)
	write(t, root, "etc/ignity/envs/20-secrets", strings.Join(lines, "\n")+"\n", 0o644)
	write(t, root, "etc/ignity/init/20-env", "#!/usr/bin/env nothere\n", 0o755) // names PATH's origin
	got := Run(layout.Layout{Root: root}, nil, true)
	if len(got) < 8 {
		t.Fatalf("Run found %d problems, want every bad line reported: %q", len(got), strs(got))
	}
	for _, p := range got {
		if strings.Contains(p.String(), secret) {
			t.Errorf("message quotes a value of an env file: %s", p)
		}
	}
}

// ---- pieces ----

func TestProblemString(t *testing.T) {
	tests := []struct {
		name string
		p    Problem
		want string
	}{
		{"with line", Problem{Path: "/etc/ignity/perms/10", Line: 3, Msg: "bad mode", Severity: Error}, "/etc/ignity/perms/10:3: bad mode"},
		{"without line", Problem{Path: "/etc/ignity/services/web", Msg: "no run", Severity: Error}, "/etc/ignity/services/web: no run"},
		{"warning", Problem{Path: "environment", Msg: "unknown knob", Severity: Warning}, "warning: environment: unknown knob"},
		{"warning with line", Problem{Path: "/e", Line: 1, Msg: "m", Severity: Warning}, "warning: /e:1: m"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestHasError(t *testing.T) {
	w := Problem{Severity: Warning}
	e := Problem{Severity: Error}
	if HasError(nil) || HasError([]Problem{w}) || !HasError([]Problem{w, e}) {
		t.Error("HasError does not tell errors from warnings")
	}
}

func TestSuggestFile(t *testing.T) {
	tests := []struct {
		name, file, want string
	}{
		{"underscore", "notification_fd", "notification-fd"},
		{"one letter off", "timeout-kil", "timeout-kill"},
		{"case", "Timeout-Kill", "timeout-kill"},
		{"two letters off", "max-deth-taly", "max-death-tally"},
		{"extension", "finish.sh", "finish"},
		{"short name, one off", "logs", "log"},
		{"short name, two off", "rc", ""},
		{"known", "down", ""},
		{"unrelated", "config.yaml", ""},
		{"unrelated short", "bin", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := suggestFile(tt.file); got != tt.want {
				t.Errorf("suggestFile(%q) = %q, want %q", tt.file, got, tt.want)
			}
		})
	}
}

func TestIsSignal(t *testing.T) {
	tests := []struct {
		v    string
		want bool
	}{
		{"TERM", true}, {"SIGTERM", true}, {"sigterm", true}, {"hup", true}, {"SIGIOT", true},
		{"15", true}, {"SIG15", true}, {"64", true},
		{"0", false}, {"65", false}, {"", false}, {"SIG", false}, {"TERMINATE", false}, {" TERM", false}, {"+9", false},
	}
	for _, tt := range tests {
		t.Run(tt.v, func(t *testing.T) {
			if got := isSignal(tt.v); got != tt.want {
				t.Errorf("isSignal(%q) = %v, want %v", tt.v, got, tt.want)
			}
		})
	}
}

func TestResolveStaysInRoot(t *testing.T) {
	root := t.TempDir()
	link(t, root, "bin", "usr/bin")
	write(t, root, "usr/bin/sh", "", 0o755)
	link(t, root, "abs", "/usr/bin/sh")
	link(t, root, "up", "../../../../usr/bin/sh")
	link(t, root, "loop", "loop")
	im := image{root: root}
	tests := []struct {
		name, p, want string
		wantErr       bool
	}{
		{"relative dir link", "/bin/sh", "/usr/bin/sh", false},
		{"absolute link starts at the root", "/abs", "/usr/bin/sh", false},
		{"dot-dot stops at the root", "/up", "/usr/bin/sh", false},
		{"loop", "/loop", "", true},
		{"missing", "/bin/bash", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := im.resolve(tt.p, true)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("resolve(%q) = %q, %v; want %q (error: %v)", tt.p, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestElfInterpOfRealBinaries(t *testing.T) {
	for path, want := range map[string]string{"/bin/sh": "/lib64/ld-linux-x86-64.so.2"} {
		f, err := os.Open(path)
		if err != nil {
			t.Skipf("no %s here: %v", path, err)
		}
		got, err := elfInterp(f)
		f.Close()
		if err != nil || got != want {
			t.Errorf("elfInterp(%s) = %q, %v; want %q", path, got, err, want)
		}
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(self)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := elfInterp(f); err != nil {
		t.Errorf("elfInterp(test binary): %v", err)
	}
	if _, err := elfInterp(strings.NewReader("#!/bin/sh\n")); err == nil {
		t.Error("elfInterp of a script: no error")
	}
}

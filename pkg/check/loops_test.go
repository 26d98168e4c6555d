package check

import (
	"reflect"
	"strings"
	"testing"

	"github.com/ignity/ignity/pkg/layout"
)

// linuxserver's with-contenv wrapper, shaped like the one its images
// install at /usr/bin/with-contenv.
const wrapper = "#!/bin/bash\nif [[ -f /run/s6/container_environment/UMASK ]]; then\n  umask \"$(cat /run/s6/container_environment/UMASK)\"\nfi\nexec /command/with-contenv \"$@\"\n"

func TestHelperLoops(t *testing.T) {
	for _, tt := range []struct {
		name  string
		setup func(t *testing.T, root string)
		want  []string
	}{
		{
			name: "wrapper over ignity's program",
			setup: func(t *testing.T, root string) {
				write(t, root, "usr/bin/with-contenv", wrapper, 0o755)
				link(t, root, "command/with-contenv", "/usr/bin/ignity")
			},
		},
		{
			name: "wrapper, /command/with-contenv back to it",
			setup: func(t *testing.T, root string) {
				write(t, root, "usr/bin/with-contenv", wrapper, 0o755)
				link(t, root, "command/with-contenv", "/usr/bin/with-contenv")
			},
			want: []string{`/usr/bin/with-contenv:5: runs /command/with-contenv (/command/with-contenv -> /usr/bin/with-contenv), which is this script again: it execs itself forever and the boot never ends; make /command/with-contenv ignity's program again (ln -sf /usr/bin/ignity /command/with-contenv), as ignity's tarball ships it`},
		},
		{
			name: "a helper that execs its own path by PATH",
			setup: func(t *testing.T, root string) {
				write(t, root, "usr/bin/s6-echo", "#!/bin/sh\n# s6-echo, logged\nexec s6-echo \"$@\"\n", 0o755)
			},
			want: []string{`/usr/bin/s6-echo:3: runs s6-echo (/usr/bin/s6-echo), which is this script again: it execs itself forever and the boot never ends; exec /command/s6-echo (ignity's program) instead`},
		},
		{
			name: "a helper whose #! is itself",
			setup: func(t *testing.T, root string) {
				write(t, root, "command/with-contenv", "#!/command/with-contenv sh\necho hi\n", 0o755)
			},
			want: []string{`/command/with-contenv:1: runs /command/with-contenv (/command/with-contenv), which is this script again: it execs itself forever and the boot never ends; exec /command/with-contenv (ignity's program) instead`},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			cleanTree(t, root)
			write(t, root, "usr/bin/ignity", "\x7fELF", 0o755)
			tt.setup(t, root)
			var got []string
			for _, p := range Run(layout.Layout{Root: root}, nil, true) {
				if strings.Contains(p.Msg, "itself forever") {
					got = append(got, p.String())
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Run:\n got  %s\n want %s", strings.Join(got, "\n      "), strings.Join(tt.want, "\n      "))
			}
		})
	}
}

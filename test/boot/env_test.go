package boot_test

import (
	"github.com/ignity/ignity/internal/boottest"
	"strings"
	"testing"

	"github.com/ignity/ignity/internal/harness"
)

func TestEnvFilesMergedContainerEnvWins(t *testing.T) {
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		boottest.File(t, r, "/etc/ignity/envs/10-a", "A=from-a\nB=from-a\nexport C=from-a\n")
		boottest.File(t, r, "/etc/ignity/envs/20-b", "# later file wins\nB=from-b\nC='from-b'\n")
		boottest.Script(t, r, "/etc/ignity/init/10-env", "#!/bin/sh\necho \"init sees A=$A B=$B C=$C\"\n")
		res := r.Boot(t, harness.Options{Timeout: boottest.Short, Env: boottest.Env("C=from-container")},
			"/init", "sh", "-c", `echo "cmd sees A=$A B=$B C=$C"; with-env sh -c 'echo "with-env sees A=$A B=$B C=$C"'`)
		boottest.WantExit(t, res, 0)
		want := "A=from-a B=from-b C=from-container"
		boottest.WantOutput(t, res, "init sees "+want, "cmd sees "+want, "with-env sees "+want)
	})
}

func TestEnvValuesRoundTrip(t *testing.T) {
	big := strings.Repeat("0123456789abcdef", 100*1024/16) // 100 KiB
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		boottest.File(t, r, "/etc/ignity/envs/10-values",
			"BIG="+big+"\n"+
				"MULTI=\"line one\nline two\n  indented\"\n"+
				"DOLLARS='P@$$w0rd$HOME'\n"+
				"DOLLARS_UNQUOTED=P@$$w0rd$HOME\n"+
				"DOLLARS_DOUBLE=\"${HOME}$1\"\n")
		boottest.Script(t, r, "/usr/local/bin/dump", "#!/bin/sh\nprintf %s \"$BIG\" > /tmp/BIG; printf %s \"$MULTI\" > /tmp/MULTI\n"+
			"printf %s \"$DOLLARS\" > /tmp/DOLLARS; printf %s \"$DOLLARS_UNQUOTED\" > /tmp/DOLLARS_UNQUOTED; printf %s \"$DOLLARS_DOUBLE\" > /tmp/DOLLARS_DOUBLE\n")
		res := r.Boot(t, harness.Options{Timeout: boottest.Short}, "/init", "with-env", "dump")
		boottest.WantExit(t, res, 0)
		for name, want := range map[string]string{
			"BIG": big, "MULTI": "line one\nline two\n  indented",
			"DOLLARS": "P@$$w0rd$HOME", "DOLLARS_UNQUOTED": "P@$$w0rd$HOME", "DOLLARS_DOUBLE": "${HOME}$1",
		} {
			if got := boottest.Read(t, r, "/tmp/"+name); got != want {
				t.Errorf("%s = %.60q (len %d), want %.60q (len %d)", name, got, len(got), want, len(want))
			}
		}
	})
}

func TestEnvValueOverExecLimitNamed(t *testing.T) {
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		boottest.File(t, r, "/etc/ignity/envs/10-huge", "HUGE="+strings.Repeat("x", 140*1024)+"\nSMALL=ok\n")
		res := r.Boot(t, harness.Options{Timeout: boottest.Short}, "/init", "sh", "-c", `echo "small=$SMALL huge=${HUGE:-unset}"`)
		boottest.WantExit(t, res, 0)
		boottest.WantOutput(t, res, "HUGE", "small=ok huge=unset")
	})
}

func TestEnvFileErrorNamesLineNotValue(t *testing.T) {
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		boottest.File(t, r, "/etc/ignity/envs/10-bad", "GOOD=1\nthis line has no equals SECRET-VALUE-1\nPASSWORD=\"SECRET-VALUE-2\n")
		boottest.Script(t, r, "/etc/ignity/init/10-x", "#!/bin/sh\ntouch /tmp/init-ran\n")
		res := r.Boot(t, harness.Options{Timeout: boottest.Short}, "/init", "true")
		boottest.WantExit(t, res, 100)
		boottest.WantOutput(t, res, "/etc/ignity/envs/10-bad:2:", "/etc/ignity/envs/10-bad:3:")
		boottest.WantNoOutput(t, res, "SECRET-VALUE")
		if boottest.Exists(r, "/tmp/init-ran") {
			t.Error("an init script ran after an env file error")
		}
	})
}

func TestEnvdirIsPrivate(t *testing.T) {
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		boottest.File(t, r, "/etc/ignity/envs/10-secret", "TOKEN=s3cr3t\n")
		res := r.Boot(t, harness.Options{Timeout: boottest.Short}, "/init", "sh", "-c",
			`stat -c '%a %u' /run/ignity/envs /run/ignity/envs/TOKEN; s6-setuidgid 65534:65534 cat /run/ignity/envs/TOKEN && echo "LEA""KED"`)
		boottest.WantExit(t, res, 1)
		boottest.WantOutput(t, res, "700 0\n600 0\n")
		boottest.WantNoOutput(t, res, "LEAKED")
	})
}

func TestLoadEnvfile(t *testing.T) {
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		res := r.Boot(t, harness.Options{Timeout: boottest.Short}, "/init", "sh", "-c",
			`printf 'X=1\nY="two words"\n' | load-envfile sh -c 'echo "X=$X Y=$Y"'`)
		boottest.WantExit(t, res, 0)
		boottest.WantOutput(t, res, "X=1 Y=two words")
	})
}

// An init script that writes, changes or removes a variable in the envdir
// sets it for every later init script and for the CMD (s6-overlay's
// container_environment pattern).
func TestInitScriptSetsEnv(t *testing.T) {
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		boottest.File(t, r, "/etc/ignity/envs/10-a", "KEEP=k\nGONE=g\nCHANGED=old\n")
		boottest.Script(t, r, "/etc/ignity/init/10-set",
			"#!/bin/sh\nprintf 'from init' > /run/ignity/envs/SET_BY_INIT\nprintf new > /run/ignity/envs/CHANGED\nrm /run/ignity/envs/GONE\n")
		boottest.Script(t, r, "/etc/ignity/init/20-see", "#!/bin/sh\necho \"init20 saw SET_BY_INIT=$SET_BY_INIT\"\n")
		res := r.Boot(t, harness.Options{Timeout: boottest.Short}, "/init", "sh", "-c",
			`echo "cmd saw SET_BY_INIT=$SET_BY_INIT CHANGED=$CHANGED KEEP=$KEEP GONE=${GONE-unset}"`)
		boottest.WantExit(t, res, 0)
		boottest.WantOutput(t, res, "init20 saw SET_BY_INIT=from init", "cmd saw SET_BY_INIT=from init CHANGED=new KEEP=k GONE=unset")
	})
}

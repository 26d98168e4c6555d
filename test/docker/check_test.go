package docker_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadmeIgnityCheck: the README's `RUN ignity check` line, added to an image with ignity,
// passes on a clean configuration and fails the build on examples/check's (its tree's
// /etc/ignity and the environment of examples/check/env), printing every line of the README's
// sample, examples/check/output.txt: the busybox base, like that tree, has /bin/sh, no bash
// and no user app.
func TestReadmeIgnityCheck(t *testing.T) {
	need(t)
	t.Parallel()
	lines := readmeLines(t, "TestReadmeIgnityCheck")
	from := ignityImage(t, "busybox")
	clean := "FROM " + from + "\n" + runLabel() + strings.Join(lines, "\n") + "\n"
	cached(t, "busybox-checked", func(ref string) error {
		dir, err := os.MkdirTemp("", "ignity-e2e-ctx-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		return writeAndBuild(dir, clean, ref)
	})

	example := filepath.Join(the.module, "examples", "check")
	env, err := os.ReadFile(filepath.Join(example, "env"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join(example, "output.txt"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.CopyFS(filepath.Join(dir, "ignity"), os.DirFS(filepath.Join(example, "root", "etc", "ignity"))); err != nil {
		t.Fatal(err)
	}
	df := "FROM " + from + "\n" + runLabel() + "COPY ignity/ /etc/ignity/\n"
	for _, kv := range strings.Fields(string(env)) {
		df += "ENV " + kv + "\n"
	}
	df += strings.Join(lines, "\n") + "\n"
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	res := dockerCmd(exec.CommandContext(ctx, "docker", "build", "--force-rm", "--label", "ignity.e2e="+the.runID, dir), nil)
	if res.Code == 0 {
		t.Fatalf("the build with examples/check's configuration succeeded, want RUN ignity check to fail it\n%s", res)
	}
	out := res.Stdout + res.Stderr
	for _, l := range strings.Split(strings.TrimSuffix(string(want), "\n"), "\n") {
		if !strings.Contains(out, l+"\n") {
			t.Errorf("the failed build does not print the README's line\n  %s\n%s", l, res)
		}
	}
}

package bench_test

// Docker-level figures: what a user of the engine sees, measured with the docker CLI on the
// busybox base image (ignity-base:busybox, scripts/docker-base.sh), beside the harness's.

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ignity/ignity/internal/harness"
)

// dockerCmdline is the CMD of every Docker variant: it prints a line at once, then waits
// until SIGTERM, on which it exits 0, so that it stops promptly even as PID 1 (no init),
// where a signal without a handler is ignored.
var dockerCmdline = []string{"sh", "-c", `trap 'exit 0' TERM; echo ready; while :; do sleep 1 & wait $!; done`}

// dockerVariant is one way of running the CMD.
type dockerVariant struct {
	name  string
	image string   // "" until built
	opts  []string // docker run options
}

// dockerResults are the figures of every variant, in ms.
type dockerResults struct {
	engine   string
	variants []string
	run      map[string]series // docker run → the CMD's first line on docker run's stdout
	stop     map[string]series // docker stop → docker stop returns (the container has exited)
	runs     int
	load     load   // the machine's load around the rounds
	date     string // when they ran
	skipped  string // why nothing was measured
}

// dockerBench measures, when an engine answers, runs rounds (after one warm-up) of every
// variant, interleaved: no init (the image's ENTRYPOINT reset: the CMD is PID 1), --init
// (Docker's tini as PID 1, the CMD its child), ignity with no service and with one. Without
// an engine it returns the reason in skipped.
func dockerBench(t *testing.T, tarball string, runs int) *dockerResults {
	t.Helper()
	res := &dockerResults{run: map[string]series{}, stop: map[string]series{}, runs: runs}
	info, err := exec.Command("docker", "info", "--format", "{{.ServerVersion}}").Output()
	if err != nil {
		res.skipped = "no Docker engine answers (docker info failed)"
		return res
	}
	res.engine = "Docker " + strings.TrimSpace(string(info))
	mod, err := harness.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("sh", filepath.Join(mod, "scripts", "docker-base.sh"), "busybox").CombinedOutput(); err != nil {
		t.Fatalf("sh scripts/docker-base.sh busybox: %v\n%s", err, out)
	}
	var id [4]byte
	rand.Read(id[:])
	label := "ignity.bench=" + hex.EncodeToString(id[:])
	t.Cleanup(func() { removeLabelled(label) })

	plain := buildBenchImage(t, mod, tarball, label, "plain", "")
	oneService := buildBenchImage(t, mod, tarball, label, "one-service",
		`RUN mkdir -p /etc/ignity/services/svc && printf '#!/bin/sh\nexec sleep 1000\n' >/etc/ignity/services/svc/run && chmod +x /etc/ignity/services/svc/run`)
	variants := []dockerVariant{
		{"no init", plain, []string{"--entrypoint", ""}},
		{"--init (tini)", plain, []string{"--entrypoint", "", "--init"}},
		{"ignity, 0 services", plain, nil},
		{"ignity, 1 service", oneService, nil},
	}
	for _, v := range variants {
		res.variants = append(res.variants, v.name)
	}
	res.date = time.Now().UTC().Format("2006-01-02 15:04 UTC")
	res.load.before, res.load.pressureBefore = sampleLoad()
	for round := 0; round <= runs; round++ {
		for i, v := range variants {
			run, stop := dockerCycle(t, v, fmt.Sprintf("ignity-bench-%s-%d-%d", hex.EncodeToString(id[:]), round, i), label)
			if round > 0 {
				res.run[v.name] = append(res.run[v.name], run)
				res.stop[v.name] = append(res.stop[v.name], stop)
			}
		}
		if round > 0 {
			t.Logf("docker round %d/%d done", round, runs)
		}
	}
	res.load.after, res.load.pressureAfter = sampleLoad()
	return res
}

// buildBenchImage is the project's Dockerfile on ignity-base:busybox with the tarball, plus
// one Dockerfile line when extra is not empty; it is labelled and tagged by name.
func buildBenchImage(t *testing.T, mod, tarball, label, name, extra string) string {
	t.Helper()
	dir := t.TempDir()
	df, err := os.ReadFile(filepath.Join(mod, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(df) + "LABEL " + label + "\n" + extra + "\n"
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	tb, err := os.ReadFile(tarball)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, filepath.Base(tarball)), tb, 0o644); err != nil {
		t.Fatal(err)
	}
	ref := "ignity-bench-" + strings.TrimPrefix(label, "ignity.bench=") + ":" + name
	cmd := exec.Command("docker", "build", "-q", "--force-rm", "--label", label, "-t", ref,
		"--build-arg", "BASE_IMAGE=ignity-base:busybox", "--build-arg", "TARBALL="+filepath.Base(tarball), dir)
	cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("docker build %s: %v\n%s", name, err, out)
	}
	return ref
}

// dockerCycle runs one container of v in the foreground, as a user does: the time from
// starting docker run to the CMD's first line on its stdout, then from starting docker stop
// to its return.
func dockerCycle(t *testing.T, v dockerVariant, name, label string) (run, stop float64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	defer exec.Command("docker", "rm", "-f", name).Run()
	argv := append([]string{"run", "--pull=never", "--name", name, "--label", label}, v.opts...)
	argv = append(append(argv, v.image), dockerCmdline...)
	c := exec.CommandContext(ctx, "docker", argv...)
	out, err := c.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	c.Stderr = &stderr
	start := time.Now()
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	run = toMs(time.Since(start))
	if err != nil || line != "ready\n" {
		c.Process.Kill()
		c.Wait()
		t.Fatalf("%s: docker run: first line %q (%v), want \"ready\"\n%s", v.name, line, err, stderr.String())
	}
	go io.Copy(io.Discard, out)
	sent := time.Now()
	if b, err := exec.CommandContext(ctx, "docker", "stop", name).CombinedOutput(); err != nil {
		t.Fatalf("%s: docker stop: %v\n%s", v.name, err, b)
	}
	stop = toMs(time.Since(sent))
	err = c.Wait()
	var exit *exec.ExitError
	if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 0) {
		t.Fatalf("%s: docker run ended with %v, want exit 0 (the CMD's TERM trap)\n%s", v.name, err, stderr.String())
	}
	return run, stop
}

// removeLabelled removes the containers, then the images, carrying label.
func removeLabelled(label string) {
	for _, kind := range [][]string{{"ps", "-aq"}, {"images", "-q"}} {
		out, _ := exec.Command("docker", append(kind, "--filter", "label="+label)...).Output()
		ids := strings.Fields(string(out))
		if len(ids) == 0 {
			continue
		}
		if kind[0] == "ps" {
			exec.Command("docker", append([]string{"rm", "-f", "-v"}, ids...)...).Run()
		} else {
			exec.Command("docker", append([]string{"rmi", "-f"}, ids...)...).Run()
		}
	}
}

// markdown is the Docker section of the report.
func (d *dockerResults) markdown() string {
	var b strings.Builder
	b.WriteString(dockerHeading + "\n\n")
	if d.skipped != "" {
		fmt.Fprintf(&b, "Not measured: %s.\n", d.skipped)
		return b.String()
	}
	fmt.Fprintf(&b, "What a user of the engine sees (%s, the docker CLI, the busybox base image), median (min–max) of "+
		"%d runs after one warm-up, the variants interleaved. The CMD is `sh -c` that prints a line, then waits "+
		"for SIGTERM and exits 0 on it (so that it stops at once as PID 1 too). **no init**: the same image "+
		"with its ENTRYPOINT reset, the CMD is PID 1; **--init**: Docker's tini is PID 1; **ignity**: the "+
		"image's `/init`, with no service and with one (`exec sleep 1000`).\n\n", d.engine, d.runs)
	b.WriteString("| figure |")
	for _, v := range d.variants {
		fmt.Fprintf(&b, " %s |", v)
	}
	b.WriteString("\n|---|" + strings.Repeat("---|", len(d.variants)) + "\n")
	for _, row := range []struct {
		name string
		s    map[string]series
	}{
		{"`docker run` → the CMD's first line on its stdout", d.run},
		{"`docker stop` → it returns (container exited)", d.stop},
	} {
		fmt.Fprintf(&b, "| %s |", row.name)
		for _, v := range d.variants {
			fmt.Fprintf(&b, " %s |", row.s[v].ms())
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "\nRun on %s; %s.", d.date, d.load)
	if d.load.busy() {
		b.WriteString(" **The machine was busy**: the figures are inflated and spread; the columns, measured in the same rounds, stay comparable.")
	}
	b.WriteString("\n\nThe engine's own work (creating the container, its mounts and network, attaching the output) " +
		"dominates both figures; the harness figures above are what ignity itself costs.\n")
	return b.String()
}

const dockerHeading = "## Docker"

// spliceDocker replaces the Docker section of a BENCHMARKS.md text (from its heading to the
// next "## " heading), or inserts it before "## Details", or appends it.
func spliceDocker(doc, section string) string {
	if i := strings.Index(doc, "\n"+dockerHeading+"\n"); i >= 0 {
		rest := doc[i+1+len(dockerHeading):]
		end := len(doc)
		if j := strings.Index(rest, "\n## "); j >= 0 {
			end = i + 1 + len(dockerHeading) + j + 1
		}
		return doc[:i+1] + section + "\n" + doc[end:]
	}
	if i := strings.Index(doc, "\n## Details\n"); i >= 0 {
		return doc[:i+1] + section + "\n" + doc[i+1:]
	}
	return doc + "\n" + section
}

// TestBenchDocker measures the Docker figures alone and writes them into the Docker section
// of docs/BENCHMARKS.md, leaving the rest of it as the last task bench wrote it. TestBench
// measures them too, in its own run.
func TestBenchDocker(t *testing.T) {
	if os.Getenv("IGNITY_BENCH") != "1" {
		t.Skip("a benchmark, not a test: run it with IGNITY_BENCH=1 (task bench runs it within TestBench)")
	}
	d := dockerBench(t, harness.Tarball(t), runsWanted(t))
	if d.skipped != "" && os.Getenv("IGNITY_REQUIRE_DOCKER") == "1" {
		t.Fatal(d.skipped)
	}
	section := d.markdown()
	fmt.Print("\n" + section + "\n")
	file := filepath.Join(docsDir(t), "BENCHMARKS.md")
	old, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte(spliceDocker(string(old), section)), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote the Docker section of %s", file)
}

// TestSpliceDocker: the section replaces its old self and nothing else.
func TestSpliceDocker(t *testing.T) {
	for _, tt := range []struct{ name, doc, want string }{
		{"replace", "# B\n\n## Results\nr\n\n## Docker\n\nold\n\n## Details\nd\n", "# B\n\n## Results\nr\n\n## Docker\nnew\n\n## Details\nd\n"},
		{"replace last", "# B\n\n## Docker\nold\n", "# B\n\n## Docker\nnew\n\n"},
		{"insert", "# B\n\n## Results\nr\n\n## Details\nd\n", "# B\n\n## Results\nr\n\n## Docker\nnew\n\n## Details\nd\n"},
		{"append", "# B\n", "# B\n\n## Docker\nnew\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := spliceDocker(tt.doc, "## Docker\nnew\n"); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

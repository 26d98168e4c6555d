// Package docker_test runs the release tarball the way users run it: in
// images built with the project's Dockerfile, started, signalled and stopped
// with the docker CLI, on a local Docker engine. It checks what the README
// promises a container: exit statuses, stdin and the terminal, docker stop
// and its bounds, a read-only root with a tmpfs /run/ignity, non-root users,
// docker run --init, signal forwarding, docker restart, the environment.
//
// No registry is reachable: the base images, ignity-base:debian and
// ignity-base:busybox, are imported from the root filesystems the namespace
// tests use (scripts/docker-base.sh, run by the suite itself). Every image
// and container of a run carries a per-run name and the label
// ignity.e2e=<run id>; containers are removed when their test ends, images
// when the run ends. docker run is always given --pull=never.
//
// The tarball is $IGNITY_TARBALL, or else the newest
// dist/ignity-*-x86_64.tar.gz of the module. Without an engine that answers
// `docker info`, or without a tarball, the tests skip with the reason, or
// fail when IGNITY_REQUIRE_DOCKER=1.
package docker_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ignity/ignity/internal/harness"
)

// Bounds of the docker commands: none of them may hang the suite.
const (
	cmdTimeout   = 2 * time.Minute  // docker run, stop, inspect, ...
	buildTimeout = 5 * time.Minute  // docker build
	bootTimeout  = 30 * time.Second // until a service shows it runs
)

// bases are the images every simple behaviour is checked on.
var bases = []string{"debian", "busybox"}

func TestMain(m *testing.M) {
	// The tests wait on containers, not on the CPU: on a 2-core machine the
	// default -parallel (GOMAXPROCS) would run them two at a time.
	flag.Parse()
	parallelSet := false
	flag.Visit(func(f *flag.Flag) { parallelSet = parallelSet || f.Name == "test.parallel" })
	if !parallelSet {
		flag.Set("test.parallel", "8")
	}
	code := m.Run()
	if the.runID != "" {
		removeRun()
	}
	os.Exit(code)
}

// ---- the suite: engine, tarball, base images ----

// the is the state shared by every test of a run.
var the struct {
	once        sync.Once
	unavailable string // why the suite cannot run here, or ""
	module      string // module root
	tarball     string // release tarball under test
	runID       string // names and labels everything this run creates
}

// need skips t when the suite cannot run here (no engine, no tarball, no
// base image), or fails it when IGNITY_REQUIRE_DOCKER=1.
func need(t *testing.T) {
	t.Helper()
	the.once.Do(setup)
	if the.unavailable == "" {
		return
	}
	if os.Getenv("IGNITY_REQUIRE_DOCKER") == "1" {
		t.Fatalf("%s (IGNITY_REQUIRE_DOCKER=1: the Docker suite must run)", the.unavailable)
	}
	t.Skip(the.unavailable)
}

func setup() {
	res := docker(context.Background(), nil, "info", "--format", "{{.ServerVersion}}")
	if res.Code != 0 {
		the.unavailable = "no Docker engine answers: docker info failed: " + res.why()
		return
	}
	mod, err := harness.ModuleRoot()
	if err != nil {
		the.unavailable = err.Error()
		return
	}
	the.module = mod
	if the.tarball, err = findTarball(mod); err != nil {
		the.unavailable = err.Error()
		return
	}
	base := exec.Command("sh", filepath.Join(mod, "scripts", "docker-base.sh"))
	if out, err := base.CombinedOutput(); err != nil {
		the.unavailable = fmt.Sprintf("cannot make the base images: sh scripts/docker-base.sh: %v\n%s", err, out)
		return
	}
	sweepStale()
	var id [4]byte
	rand.Read(id[:])
	the.runID = hex.EncodeToString(id[:])
}

// staleAge is the age past which what an earlier run left (one killed
// before TestMain could clean up) is removed. Runs of other checkouts may
// be going on at the same time: what is younger is theirs.
const staleAge = 2 * time.Hour

// sweepStale removes containers, then images, labelled by an earlier run
// and older than staleAge; images newest first, children before parents.
func sweepStale() {
	ctx := context.Background()
	for _, kind := range []string{"ps -a", "images"} {
		args := append(strings.Fields(kind), "--filter", "label=ignity.e2e", "--format", "{{.ID}}\t{{.CreatedAt}}")
		res := docker(ctx, nil, args...)
		var ids []string
		for _, line := range strings.Split(strings.TrimSpace(res.Stdout), "\n") {
			id, created, ok := strings.Cut(line, "\t")
			at, err := time.Parse("2006-01-02 15:04:05 -0700 MST", created)
			if ok && err == nil && time.Since(at) > staleAge {
				ids = append(ids, id)
			}
		}
		for _, id := range ids { // docker lists newest first
			if kind == "images" {
				docker(ctx, nil, "rmi", id)
			} else {
				docker(ctx, nil, "rm", "-f", "-v", id)
			}
		}
	}
}

// findTarball is $IGNITY_TARBALL, or the newest tarball in dist/.
func findTarball(mod string) (string, error) {
	if p := os.Getenv("IGNITY_TARBALL"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("IGNITY_TARBALL: %w", err)
		}
		return p, nil
	}
	matches, _ := filepath.Glob(filepath.Join(mod, "dist", "ignity-*-x86_64.tar.gz"))
	var newest string
	var newestTime time.Time
	for _, m := range matches {
		if fi, err := os.Stat(m); err == nil && fi.ModTime().After(newestTime) {
			newest, newestTime = m, fi.ModTime()
		}
	}
	if newest == "" {
		return "", errors.New("no release tarball: set IGNITY_TARBALL or run task package")
	}
	return newest, nil
}

// removeRun removes what this run left: containers first (a test killed by
// the timeout skips its cleanups), then the images, newest first, since an
// image built FROM another must go before it.
func removeRun() {
	ctx := context.Background()
	label := "label=ignity.e2e=" + the.runID
	if res := docker(ctx, nil, "ps", "-aq", "--filter", label); res.Code == 0 {
		if ids := strings.Fields(res.Stdout); len(ids) > 0 {
			docker(ctx, nil, append([]string{"rm", "-f", "-v"}, ids...)...)
		}
	}
	images.Lock()
	refs := images.built
	images.Unlock()
	for i := len(refs) - 1; i >= 0; i-- {
		if res := docker(ctx, nil, "rmi", refs[i]); res.Code != 0 {
			fmt.Fprintf(os.Stderr, "docker_test: remove image %s: %s\n", refs[i], res.why())
		}
	}
	// What failed builds left: the generated Dockerfiles label every step.
	docker(ctx, nil, "image", "prune", "-f", "--filter", label)
}

// ---- running docker ----

// result is how a docker command ended.
type result struct {
	Args    []string
	Stdout  string
	Stderr  string
	Code    int // exit status; -1 when it did not run or was killed
	Err     error
	Elapsed time.Duration
}

func (r result) String() string {
	return fmt.Sprintf("docker %s: exit %d (%v) after %v\n--- stdout\n%s--- stderr\n%s",
		strings.Join(r.Args, " "), r.Code, r.Err, r.Elapsed.Round(time.Millisecond), r.Stdout, r.Stderr)
}

// why is the first line of what went wrong, for a one-line message.
func (r result) why() string {
	msg := strings.TrimSpace(r.Stderr)
	if msg == "" && r.Err != nil {
		msg = r.Err.Error()
	}
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	return msg
}

// docker runs the docker CLI with stdin (nil: none), bounded by ctx and by
// cmdTimeout. The legacy builder is used: the client may lack buildx.
func docker(ctx context.Context, stdin io.Reader, args ...string) result {
	ctx, cancel := context.WithTimeout(ctx, cmdTimeout)
	defer cancel()
	return dockerCmd(exec.CommandContext(ctx, "docker", args...), stdin)
}

func dockerCmd(c *exec.Cmd, stdin io.Reader) result {
	var stdout, stderr bytes.Buffer
	c.Stdin, c.Stdout, c.Stderr = stdin, &stdout, &stderr
	c.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
	c.WaitDelay = 5 * time.Second
	start := time.Now()
	err := c.Run()
	r := result{Args: c.Args[1:], Stdout: stdout.String(), Stderr: stderr.String(), Err: err, Elapsed: time.Since(start)}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit) && exit.ExitCode() >= 0:
		r.Code = exit.ExitCode()
	default:
		r.Code = -1
	}
	return r
}

// ---- images ----

// images are built once per run, on first use, and shared by the tests.
var images struct {
	sync.Mutex
	byKey map[string]*image
	built []string // refs in build order
}

type image struct {
	once sync.Once
	ref  string
	err  error
}

// cached returns the ref of the image named key, calling build(ref) the
// first time it is asked for. Tests asking at once wait for one build.
func cached(t *testing.T, key string, build func(ref string) error) string {
	t.Helper()
	images.Lock()
	if images.byKey == nil {
		images.byKey = map[string]*image{}
	}
	img := images.byKey[key]
	if img == nil {
		img = &image{ref: "ignity-e2e-" + the.runID + ":" + key}
		images.byKey[key] = img
	}
	images.Unlock()
	img.once.Do(func() {
		start := time.Now()
		img.err = build(img.ref)
		if img.err != nil {
			return
		}
		t.Logf("built image %s in %v", img.ref, time.Since(start).Round(time.Millisecond))
		images.Lock()
		images.built = append(images.built, img.ref)
		images.Unlock()
	})
	if img.err != nil {
		t.Fatalf("image %s: %v", key, img.err)
	}
	return img.ref
}

// buildImage runs docker build on the context dir, which holds a
// Dockerfile; the image is tagged ref and labelled with the run.
func buildImage(dir, ref string, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	argv := append([]string{"build", "-q", "--force-rm", "--label", "ignity.e2e=" + the.runID, "-t", ref}, args...)
	res := dockerCmd(exec.CommandContext(ctx, "docker", append(argv, dir)...), nil)
	if res.Code != 0 {
		return fmt.Errorf("docker build failed\n%s", res)
	}
	return nil
}

// ignityImage is the project's Dockerfile built on ignity-base:base with
// the release tarball: what a user's image with ignity is.
func ignityImage(t *testing.T, base string) string {
	t.Helper()
	return cached(t, base, func(ref string) error {
		dir, err := os.MkdirTemp("", "ignity-e2e-ctx-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		name := filepath.Base(the.tarball)
		for _, c := range [][2]string{
			{filepath.Join(the.module, "Dockerfile"), filepath.Join(dir, "Dockerfile")},
			{the.tarball, filepath.Join(dir, name)},
		} {
			if err := copyFile(c[0], c[1]); err != nil {
				return err
			}
		}
		return buildImage(dir, ref, "--build-arg", "BASE_IMAGE=ignity-base:"+base, "--build-arg", "TARBALL="+name)
	})
}

// fixture is an image's own part: files under / (a file starting with
// "#!" is made executable) and Dockerfile lines after their COPY.
type fixture struct {
	name  string
	files map[string]string
	lines []string
}

// fixtureImage is f COPY'd over the ignity image of base.
func fixtureImage(t *testing.T, base string, f fixture) string {
	t.Helper()
	from := ignityImage(t, base)
	return cached(t, base+"-"+f.name, func(ref string) error {
		dir, err := os.MkdirTemp("", "ignity-e2e-ctx-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		if err := writeTree(filepath.Join(dir, "root"), f.files); err != nil {
			return err
		}
		df := "FROM " + from + "\n" + runLabel() + "COPY root/ /\n" + strings.Join(f.lines, "\n") + "\n"
		if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644); err != nil {
			return err
		}
		return buildImage(dir, ref)
	})
}

// runLabel is the Dockerfile line that labels every step of a build with
// the run, so that removeRun finds what a failed build left.
func runLabel() string { return "LABEL ignity.e2e=" + the.runID + "\n" }

// writeTree writes files under root; directories are 0755.
func writeTree(root string, files map[string]string) error {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return err
	}
	for p, content := range files {
		host := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(host), 0o755); err != nil {
			return err
		}
		mode := os.FileMode(0o644)
		if strings.HasPrefix(content, "#!") {
			mode = 0o755
		}
		if err := os.WriteFile(host, []byte(content), mode); err != nil {
			return err
		}
		if err := os.Chmod(host, mode); err != nil { // past the umask
			return err
		}
	}
	return nil
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o644)
}

// ---- containers ----

var containerSeq atomic.Int64

// container is one named container of a test, removed when the test ends.
type container struct {
	t    *testing.T
	name string
}

func newContainer(t *testing.T) *container {
	t.Helper()
	name := fmt.Sprintf("ignity-e2e-%s-%s-%d", the.runID, sanitize(t.Name()), containerSeq.Add(1))
	t.Cleanup(func() { docker(context.Background(), nil, "rm", "-f", "-v", name) })
	return &container{t: t, name: name}
}

var unsafeName = regexp.MustCompile(`[^a-zA-Z0-9_.-]+`)

func sanitize(s string) string {
	s = strings.ToLower(unsafeName.ReplaceAllString(s, "-"))
	if len(s) > 60 {
		s = s[len(s)-60:]
	}
	return strings.Trim(s, "-.")
}

// runArgs is the docker run command line for this container.
func (c *container) runArgs(opts []string, image string, cmd []string) []string {
	argv := []string{"run", "--pull=never", "--name", c.name, "--label", "ignity.e2e=" + the.runID}
	argv = append(argv, opts...)
	argv = append(argv, image)
	return append(argv, cmd...)
}

// run runs the container in the foreground with stdin (nil: none) and
// returns how docker run ended.
func (c *container) run(stdin io.Reader, opts []string, image string, cmd ...string) result {
	return docker(context.Background(), stdin, c.runArgs(opts, image, cmd)...)
}

// start runs the container detached.
func (c *container) start(opts []string, image string, cmd ...string) {
	c.t.Helper()
	res := docker(context.Background(), nil, c.runArgs(append([]string{"-d"}, opts...), image, cmd)...)
	if res.Code != 0 {
		c.t.Fatalf("start container:\n%s", res)
	}
}

// do runs a docker subcommand on the container (stop, kill, restart, ...):
// args, then the container's name.
func (c *container) do(args ...string) result {
	return docker(context.Background(), nil, append(args, c.name)...)
}

// logs is the container's output so far, stdout and stderr together.
func (c *container) logs() string {
	res := c.do("logs")
	return res.Stdout + res.Stderr
}

// state is docker inspect's .State.Status and .State.ExitCode.
func (c *container) state() (status string, code int) {
	res := c.do("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}")
	f := strings.Fields(res.Stdout)
	if res.Code != 0 || len(f) != 2 {
		c.t.Fatalf("inspect container:\n%s", res)
	}
	code, _ = strconv.Atoi(f[1])
	return f[0], code
}

// wantExited checks that the container has exited with code.
func (c *container) wantExited(code int) {
	c.t.Helper()
	status, got := c.state()
	if status != "exited" || got != code {
		c.t.Fatalf("container is %s with exit code %d, want exited with %d\n--- logs\n%s", status, got, code, c.logs())
	}
}

// stop runs docker stop with args and returns how long it took.
func (c *container) stop(args ...string) time.Duration {
	c.t.Helper()
	res := c.do(append([]string{"stop"}, args...)...)
	if res.Code != 0 {
		c.t.Fatalf("docker stop:\n%s", res)
	}
	c.t.Logf("%s took %v", strings.Join(append([]string{"docker", "stop"}, args...), " "), res.Elapsed.Round(time.Millisecond))
	return res.Elapsed
}

// waitFor polls cond until it holds, failing after bootTimeout with what
// the container printed.
func (c *container) waitFor(what string, cond func() bool) {
	c.t.Helper()
	deadline := time.Now().Add(bootTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			status, code := c.state()
			c.t.Fatalf("no %s after %v (container %s, exit code %d)\n--- logs\n%s", what, bootTimeout, status, code, c.logs())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ---- volumes ----

// volume is a host directory for -v DIR:/data that any uid may write.
type volume string

func newVolume(t *testing.T) volume {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	return volume(dir)
}

// mount is the -v option mounting v at /data.
func (v volume) mount() []string { return []string{"-v", string(v) + ":/data"} }

// read returns the file's content, "" when it does not exist (yet).
func (v volume) read(name string) string {
	b, _ := os.ReadFile(filepath.Join(string(v), name))
	return string(b)
}

func (v volume) has(name string) bool {
	_, err := os.Stat(filepath.Join(string(v), name))
	return err == nil
}

// ---- assertions ----

func wantCode(t *testing.T, res result, code int) {
	t.Helper()
	if res.Code != code {
		t.Fatalf("exit status %d, want %d\n%s", res.Code, code, res)
	}
}

func wantContains(t *testing.T, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Fatalf("%s lacks %q\n%s", what, w, got)
		}
	}
}

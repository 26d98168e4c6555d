// Package kubernetes checks the example manifests of this directory against the contract the
// README gives for running ignity on Kubernetes: each file is decoded strictly with the
// Kubernetes API types (an unknown or misspelt field fails), then its Deployment is checked
// for exec probes on `ignity health`, a non-root uid in group 0, a read-only root with a
// memory emptyDir at /run/ignity, and a termination grace period above ignity's stop bound.
//
// It is a module of its own so that the main module does not depend on k8s.io/api; task test
// runs it with `cd examples/kubernetes && go test ./...`. No cluster is needed.
package kubernetes

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"sigs.k8s.io/yaml"
)

// ignity's defaults (README, Knobs), in ms.
const (
	defServicesGrace = 5000 // IGNITY_SERVICES_GRACETIME
	defKillGrace     = 3000 // IGNITY_KILL_GRACETIME
	defFinalizeMax   = 5000 // IGNITY_KILL_FINALIZE_MAXTIME
	defHealthTimeout = 2000 // IGNITY_HEALTH_TIMEOUT
)

// finalizeScripts is how many finalize scripts the stop bound allows for: the README's
// example figure (8 s with the defaults) counts one.
const finalizeScripts = 1

// strict decodes apps/v1 objects as the API server does with strict field validation: a
// field the types do not have, a field given twice, or a field in the wrong case is an error.
// (sigs.k8s.io/yaml's UnmarshalStrict alone matches field names case-insensitively.)
var strict = func() runtime.Decoder {
	scheme := runtime.NewScheme()
	if err := appsv1.AddToScheme(scheme); err != nil {
		panic(err)
	}
	return serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer()
}()

// decodeBytes reads one manifest strictly; it must be a Deployment.
func decodeBytes(b []byte) (*appsv1.Deployment, error) {
	obj, _, err := strict.Decode(b, nil, nil)
	if err != nil {
		return nil, err
	}
	d, ok := obj.(*appsv1.Deployment)
	if !ok {
		return nil, fmt.Errorf("a %T, want an apps/v1 Deployment", obj)
	}
	return d, nil
}

// decode reads the manifest at path strictly.
func decode(t *testing.T, path string) *appsv1.Deployment {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	d, err := decodeBytes(b)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	// The decoder fills in the type from apiVersion and kind; keep what the file said.
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(b, &tm); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	d.TypeMeta = tm
	return d
}

// knob is the container's value of an IGNITY_* variable in ms, or def.
func knob(c corev1.Container, name string, def int) (int, error) {
	for _, e := range c.Env {
		if e.Name == name {
			v, err := strconv.Atoi(e.Value)
			if err != nil || v < 0 {
				return 0, fmt.Errorf("env %s=%q: want a number of ms", name, e.Value)
			}
			return v, nil
		}
	}
	return def, nil
}

// stopBound is the README's bound on a shutdown, in ms:
// max(IGNITY_SERVICES_GRACETIME, n × IGNITY_KILL_FINALIZE_MAXTIME) + IGNITY_KILL_GRACETIME.
func stopBound(c corev1.Container) (int, error) {
	s, err1 := knob(c, "IGNITY_SERVICES_GRACETIME", defServicesGrace)
	f, err2 := knob(c, "IGNITY_KILL_FINALIZE_MAXTIME", defFinalizeMax)
	k, err3 := knob(c, "IGNITY_KILL_GRACETIME", defKillGrace)
	for _, err := range []error{err1, err2, err3} {
		if err != nil {
			return 0, err
		}
	}
	return max(s, finalizeScripts*f) + k, nil
}

// check returns every way d breaks the contract.
func check(d *appsv1.Deployment) []string {
	var bad []string
	fail := func(format string, args ...any) { bad = append(bad, fmt.Sprintf(format, args...)) }
	if d.APIVersion != "apps/v1" || d.Kind != "Deployment" {
		fail("apiVersion/kind %s/%s, want apps/v1/Deployment", d.APIVersion, d.Kind)
	}
	pod := d.Spec.Template.Spec
	if len(pod.Containers) == 0 {
		fail("no containers")
	}
	volumes := map[string]corev1.Volume{}
	for _, v := range pod.Volumes {
		volumes[v.Name] = v
	}
	for _, c := range pod.Containers {
		sc := effective(pod.SecurityContext, c.SecurityContext)
		if sc.runAsNonRoot == nil || !*sc.runAsNonRoot {
			fail("%s: runAsNonRoot is not true", c.Name)
		}
		if sc.runAsUser == nil || *sc.runAsUser == 0 {
			fail("%s: no non-zero runAsUser", c.Name)
		}
		if sc.runAsGroup == nil || *sc.runAsGroup != 0 {
			fail("%s: runAsGroup is not 0 (/run/ignity is writable by group 0)", c.Name)
		}
		if c.SecurityContext == nil || c.SecurityContext.ReadOnlyRootFilesystem == nil || !*c.SecurityContext.ReadOnlyRootFilesystem {
			fail("%s: readOnlyRootFilesystem is not true", c.Name)
		}
		health, err := knob(c, "IGNITY_HEALTH_TIMEOUT", defHealthTimeout)
		if err != nil {
			fail("%s: %v", c.Name, err)
		}
		for _, p := range []struct {
			name  string
			probe *corev1.Probe
		}{{"livenessProbe", c.LivenessProbe}, {"readinessProbe", c.ReadinessProbe}} {
			switch {
			case p.probe == nil:
				fail("%s: no %s", c.Name, p.name)
			case p.probe.Exec == nil || !slices.Equal(p.probe.Exec.Command, []string{"ignity", "health"}):
				fail("%s: %s is not exec [ignity health]", c.Name, p.name)
			case int(p.probe.TimeoutSeconds)*1000 <= health:
				// Kubernetes' default timeout is 1 s: below ignity's own bound on health programs.
				fail("%s: %s timeoutSeconds %d is not above IGNITY_HEALTH_TIMEOUT (%d ms)", c.Name, p.name, p.probe.TimeoutSeconds, health)
			}
		}
		mounted := false
		for _, m := range c.VolumeMounts {
			if m.MountPath != "/run/ignity" {
				continue
			}
			v, ok := volumes[m.Name]
			if !ok || v.EmptyDir == nil || v.EmptyDir.Medium != corev1.StorageMediumMemory {
				fail("%s: /run/ignity is not a memory emptyDir", c.Name)
			}
			mounted = true
		}
		if !mounted {
			fail("%s: nothing mounted at /run/ignity (a read-only root needs it writable)", c.Name)
		}
		bound, err := stopBound(c)
		if err != nil {
			fail("%s: %v", c.Name, err)
		}
		if g := pod.TerminationGracePeriodSeconds; g == nil || int(*g)*1000 <= bound {
			fail("%s: terminationGracePeriodSeconds is not above ignity's stop bound of %d ms", c.Name, bound)
		}
	}
	return bad
}

// securityContext is what applies to a container: its own fields, else the pod's.
type securityContext struct {
	runAsNonRoot          *bool
	runAsUser, runAsGroup *int64
}

func effective(pod *corev1.PodSecurityContext, c *corev1.SecurityContext) securityContext {
	var sc securityContext
	if pod != nil {
		sc = securityContext{pod.RunAsNonRoot, pod.RunAsUser, pod.RunAsGroup}
	}
	if c != nil {
		if c.RunAsNonRoot != nil {
			sc.runAsNonRoot = c.RunAsNonRoot
		}
		if c.RunAsUser != nil {
			sc.runAsUser = c.RunAsUser
		}
		if c.RunAsGroup != nil {
			sc.runAsGroup = c.RunAsGroup
		}
	}
	return sc
}

// TestManifests: every manifest here decodes strictly and keeps the contract; the
// shareProcessNamespace variant exists (ignity not PID 1).
func TestManifests(t *testing.T) {
	files, err := filepath.Glob("*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests (*.yaml) in the test's directory: %v", err)
	}
	shared := map[string]bool{}
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			d := decode(t, f)
			for _, p := range check(d) {
				t.Errorf("%s: %s", f, p)
			}
			shared[f] = d.Spec.Template.Spec.ShareProcessNamespace != nil && *d.Spec.Template.Spec.ShareProcessNamespace
		})
	}
	// test/docker's TestKubernetesContract stands for these manifests with
	// docker run --user 12345:0 --read-only --tmpfs /run/ignity --tmpfs /tmp: keep them equal.
	for _, f := range files {
		d := decode(t, f)
		pod := d.Spec.Template.Spec
		sc := effective(pod.SecurityContext, pod.Containers[0].SecurityContext)
		var mounts []string
		for _, m := range pod.Containers[0].VolumeMounts {
			mounts = append(mounts, m.MountPath)
		}
		slices.Sort(mounts)
		if sc.runAsUser == nil || *sc.runAsUser != 12345 || !slices.Equal(mounts, []string{"/run/ignity", "/tmp"}) {
			t.Errorf("%s: uid %v, mounts %v: TestKubernetesContract (test/docker) runs uid 12345 with tmpfs at /run/ignity and /tmp; change both together", f, sc.runAsUser, mounts)
		}
	}
	if !shared["deployment-shared-pid.yaml"] {
		t.Errorf("deployment-shared-pid.yaml: shareProcessNamespace is not true")
	}
	if shared["deployment.yaml"] {
		t.Errorf("deployment.yaml: shareProcessNamespace is set: ignity should be PID 1 there")
	}
}

// TestCheckRejects: the check fails a manifest that drops any part of the contract, and the
// strict decoding fails a misspelt field.
func TestCheckRejects(t *testing.T) {
	for _, tt := range []struct {
		name   string
		break_ func(*appsv1.Deployment)
		want   string
	}{
		{"root", func(d *appsv1.Deployment) { d.Spec.Template.Spec.SecurityContext.RunAsUser = ptr[int64](0) }, "runAsUser"},
		{"not group 0", func(d *appsv1.Deployment) { d.Spec.Template.Spec.SecurityContext.RunAsGroup = ptr[int64](1000) }, "runAsGroup"},
		{"no runAsNonRoot", func(d *appsv1.Deployment) { d.Spec.Template.Spec.SecurityContext.RunAsNonRoot = nil }, "runAsNonRoot"},
		{"writable root", func(d *appsv1.Deployment) {
			d.Spec.Template.Spec.Containers[0].SecurityContext.ReadOnlyRootFilesystem = ptr(false)
		}, "readOnlyRootFilesystem"},
		{"no liveness", func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].LivenessProbe = nil }, "no livenessProbe"},
		{"http readiness", func(d *appsv1.Deployment) {
			d.Spec.Template.Spec.Containers[0].ReadinessProbe.Exec = nil
		}, "readinessProbe is not exec"},
		{"probe timeout", func(d *appsv1.Deployment) {
			d.Spec.Template.Spec.Containers[0].LivenessProbe.TimeoutSeconds = 1
		}, "IGNITY_HEALTH_TIMEOUT"},
		{"disk emptyDir", func(d *appsv1.Deployment) {
			for i := range d.Spec.Template.Spec.Volumes {
				if e := d.Spec.Template.Spec.Volumes[i].EmptyDir; e != nil {
					e.Medium = corev1.StorageMediumDefault
				}
			}
		}, "memory emptyDir"},
		{"no /run/ignity", func(d *appsv1.Deployment) {
			c := &d.Spec.Template.Spec.Containers[0]
			c.VolumeMounts = slices.DeleteFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return m.MountPath == "/run/ignity" })
		}, "nothing mounted at /run/ignity"},
		{"grace at the bound", func(d *appsv1.Deployment) { d.Spec.Template.Spec.TerminationGracePeriodSeconds = ptr[int64](8) }, "stop bound of 8000 ms"},
		{"longer services grace", func(d *appsv1.Deployment) {
			c := &d.Spec.Template.Spec.Containers[0]
			c.Env = append(c.Env, corev1.EnvVar{Name: "IGNITY_SERVICES_GRACETIME", Value: "20000"})
		}, "stop bound of 23000 ms"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := decode(t, "deployment.yaml")
			if bad := check(d); len(bad) > 0 {
				t.Fatalf("deployment.yaml already fails: %v", bad)
			}
			tt.break_(d)
			bad := strings.Join(check(d), "\n")
			if !strings.Contains(bad, tt.want) {
				t.Fatalf("check found %q, want a problem mentioning %q", bad, tt.want)
			}
		})
	}
	t.Run("misspelt field", func(t *testing.T) {
		b, err := os.ReadFile("deployment.yaml")
		if err != nil {
			t.Fatal(err)
		}
		for _, typo := range []string{"readOnlyRootFileSystem:", "readOnlyRootFilesytem:"} {
			bad := strings.Replace(string(b), "readOnlyRootFilesystem:", typo, 1)
			if _, err := decodeBytes([]byte(bad)); err == nil || !strings.Contains(err.Error(), strings.TrimSuffix(typo, ":")) {
				t.Errorf("strict decoding with %q: %v, want an error naming it", typo, err)
			}
		}
	})
}

func ptr[T any](v T) *T { return &v }

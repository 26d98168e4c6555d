package kubernetes

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ignity/ignity/test/readme"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// TestReadmeYAML decodes every yaml block of the README and of docs/ (the main module has no YAML
// decoder, so its test/readme leaves them to this one): a block with apiVersion and kind
// strictly as that Kubernetes object, a block with services: as a Compose file, any other
// as a fragment of a container spec (a probe), strictly too.
func TestReadmeYAML(t *testing.T) {
	files, err := readme.Files("../..")
	if err != nil {
		t.Fatal(err)
	}
	var blocks []readme.Block
	for _, f := range files {
		text, err := os.ReadFile(filepath.Join("../..", f))
		if err != nil {
			t.Fatal(err)
		}
		bs, problems := readme.Parse(string(text))
		for _, p := range problems {
			t.Errorf("%s %s", f, p)
		}
		for i := range bs {
			bs[i].File = f
		}
		blocks = append(blocks, bs...)
	}
	n := 0
	for _, b := range blocks {
		if b.Lang != "yaml" && b.Lang != "yml" {
			continue
		}
		n++
		var head struct {
			APIVersion string         `json:"apiVersion"`
			Kind       string         `json:"kind"`
			Services   map[string]any `json:"services"`
		}
		if err := yaml.Unmarshal([]byte(b.Text), &head); err != nil {
			t.Errorf("%s: %v", b, err)
			continue
		}
		switch {
		case head.APIVersion != "" && head.Kind != "":
			if _, err := decodeBytes([]byte(b.Text)); err != nil {
				t.Errorf("%s: %v", b, err)
			}
		case head.Services != nil:
			if len(head.Services) == 0 || !strings.Contains(b.Text, "ignity") {
				t.Errorf("%s: a Compose file without services or without ignity", b)
			}
		default:
			var c corev1.Container
			if err := yaml.UnmarshalStrict([]byte(b.Text), &c); err != nil {
				t.Errorf("%s: not a Kubernetes object, a Compose file, or a part of a container spec: %v", b, err)
			}
		}
	}
	if n == 0 {
		t.Fatal("README.md and docs/: no yaml blocks")
	}
	t.Logf("README.md and docs/: %d yaml blocks decoded", n)
}

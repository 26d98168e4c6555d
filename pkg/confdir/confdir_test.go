package confdir

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestNames(t *testing.T) {
	tests := []struct {
		name  string
		files []string
		want  []string
	}{
		{"empty", nil, []string{}},
		{"dot names left out", []string{".s6-svscan", ".hidden~", "web"}, []string{"web"}},
		{"byte-wise order", []string{"b", "Z", "a", "10-x", "9-y"}, []string{"10-x", "9-y", "Z", "a", "b"}},
		{"only dot names", []string{".a", ".b"}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range tt.files {
				if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := Names(dir)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Names = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestReadMissing(t *testing.T) {
	_, err := Read(filepath.Join(t.TempDir(), "none"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Read of a missing dir: %v, want fs.ErrNotExist", err)
	}
	var pe *fs.PathError
	if !errors.As(err, &pe) {
		t.Errorf("Read's error %T is not os.ReadDir's *fs.PathError", err)
	}
}

func TestVisibleSorts(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"c", ".d", "a", "b"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	d, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	entries, err := d.ReadDir(-1) // directory order, unsorted
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range Visible(entries) {
		got = append(got, e.Name())
	}
	if want := []string{"a", "b", "c"}; !slices.Equal(got, want) {
		t.Errorf("Visible = %q, want %q", got, want)
	}
}

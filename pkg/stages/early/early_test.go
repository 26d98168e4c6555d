package early

import "testing"

func TestStage(t *testing.T) {
	for _, tt := range []struct {
		argv []string
		want string
	}{
		{[]string{"/init"}, "stage1"},
		{[]string{"/init", "nginx"}, "stage1"},
		{[]string{"/usr/bin/ignity", "init"}, "stage1"},
		{[]string{".s6-svscan/finish"}, "stage3"},
		{[]string{"/run/ignity/services-state/.s6-svscan/crash"}, "stage3"},
		{[]string{"ignity", "stage3"}, "stage3"},
		{[]string{".s6-svscan/SIGTERM"}, ""},
		{[]string{"/usr/bin/with-env", "init"}, ""},
		{[]string{"ignity", "status"}, ""},
		{[]string{"finish"}, ""},
		{nil, ""},
	} {
		if got := stage(tt.argv); got != tt.want {
			t.Errorf("stage(%q) = %q, want %q", tt.argv, got, tt.want)
		}
	}
}

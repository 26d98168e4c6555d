package services

import (
	"reflect"
	"testing"
)

// TestUserBundleWithoutType: images made for s6-overlay ship user/ and
// user2/ with contents.d/ alone (s6-overlay's tarball brings their type
// files); they are bundles. Any other definition still needs its type.
func TestUserBundleWithoutType(t *testing.T) {
	d, probs := Load(tree(t, map[string]string{
		"etc/s6-overlay/s6-rc.d/app/type":              "longrun\n",
		"etc/s6-overlay/s6-rc.d/app/run":               "#!/bin/sh\n",
		"etc/s6-overlay/s6-rc.d/late/type":             "longrun\n",
		"etc/s6-overlay/s6-rc.d/late/run":              "#!/bin/sh\n",
		"etc/s6-overlay/s6-rc.d/user/contents.d/app":   "",
		"etc/s6-overlay/s6-rc.d/user2/contents.d/late": "",
	}), "")
	if len(probs) > 0 {
		t.Fatalf("problems: %v", probs)
	}
	if !reflect.DeepEqual(d.User, []string{"app"}) || !reflect.DeepEqual(d.User2, []string{"late"}) {
		t.Errorf("user = %v, user2 = %v; want [app], [late]", d.User, d.User2)
	}
	if s, _ := d.Get(UserBundle); s.Type != Bundle {
		t.Errorf("user: type %q, want bundle", s.Type)
	}
	_, probs = Load(tree(t, map[string]string{"etc/s6-overlay/s6-rc.d/other/contents.d/app": ""}), "")
	if len(probs) != 1 || probs[0].Err.Error() != "no type file: s6-rc wants type holding longrun, oneshot or bundle" {
		t.Errorf("other without type: problems %v, want the missing type named", probs)
	}
}

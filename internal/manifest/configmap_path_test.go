package manifest

import (
	"strings"
	"testing"
)

func TestConfigMapPathRoundTrip(t *testing.T) {
	for _, key := range []string{"redis.conf", `odd "key"`, "JAVA_OPTS"} {
		cm, path, got, ok := SplitConfigMapPath(ConfigMapPath("shop", "conf", key))
		if !ok || cm != "shop/conf" || got != key || !strings.HasPrefix(path, "data[") {
			t.Errorf("%q: %v %q %q %q", key, ok, cm, path, got)
		}
	}
	if _, _, _, ok := SplitConfigMapPath("spec.template.spec.containers[0].env[1].value"); ok {
		t.Error("a workload's path taken for a ConfigMap's")
	}
}

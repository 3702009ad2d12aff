package manifest

import (
	"strconv"
	"strings"
)

// configMapPrefix marks an edit path into a ConfigMap of the input rather
// than into the object edited: "configmap:NAMESPACE/NAME:data[\"KEY\"]".
// A workload's env value or mounted config file that comes from a
// ConfigMap is edited there.
const configMapPrefix = "configmap:"

// ConfigMapPath is the edit path of a ConfigMap key's value.
func ConfigMapPath(namespace, name, key string) string {
	return configMapPrefix + namespace + "/" + name + ":data[" + strconv.Quote(key) + "]"
}

// SplitConfigMapPath reads a ConfigMapPath: the ConfigMap's
// namespace/name, the path in it, and its key; ok is false for any other
// path.
func SplitConfigMapPath(p string) (cm, path, key string, ok bool) {
	rest, ok := strings.CutPrefix(p, configMapPrefix)
	if !ok {
		return "", "", "", false
	}
	cm, path, ok = strings.Cut(rest, ":")
	if !ok {
		return "", "", "", false
	}
	key, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(path, "data["), "]"))
	return cm, path, key, err == nil
}

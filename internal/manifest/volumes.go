package manifest

import corev1 "k8s.io/api/core/v1"

// VolumeConfigMaps are the ConfigMaps a typed pod volume shows, as
// PodSpec.Volumes reads them from YAML: a configMap volume's, or a
// projected volume's configMap sources.
func VolumeConfigMaps(v corev1.Volume) []VolumeConfigMap {
	var out []VolumeConfigMap
	add := func(name string, items []corev1.KeyToPath) {
		cm := VolumeConfigMap{Name: name}
		for _, it := range items {
			if cm.Items == nil {
				cm.Items = map[string]string{}
			}
			cm.Items[it.Key] = it.Path
		}
		out = append(out, cm)
	}
	if v.ConfigMap != nil {
		add(v.ConfigMap.Name, v.ConfigMap.Items)
	}
	if v.Projected != nil {
		for _, s := range v.Projected.Sources {
			if s.ConfigMap != nil {
				add(s.ConfigMap.Name, s.ConfigMap.Items)
			}
		}
	}
	return out
}

package kustomize

import (
	"strings"

	yaml "go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/api/types"

	"github.com/oomdoctor/oomdoctor/internal/manifest"
	"github.com/oomdoctor/oomdoctor/internal/renderdiff"
)

// mergeGenerator makes the planned data of a ConfigMap a generator of a
// base makes with a configMapGenerator of DIR's kustomization that merges
// into it (behavior: merge), the changed keys as literals: how an overlay
// changes a base's generated ConfigMap. A change to anything but single
// lines of its data is left to a patch.
func (t *tracer) mergeGenerator(obj *Object, cur, plan any, done func([]renderdiff.Difference) bool) bool {
	if !obj.generated || obj.Kind != "ConfigMap" || obj.generatorKind != "ConfigMapGenerator" {
		return false
	}
	for _, d := range renderdiff.Diff(renderdiff.Docs{"": {cur}}, renderdiff.Docs{"": {plan}}) {
		if len(d.Path) != 2 || d.Path[0] != "data" || !d.HasNew {
			return false
		}
	}
	cd, _ := renderdiff.Lookup(cur, []any{"data"})
	pd, _ := renderdiff.Lookup(plan, []any{"data"})
	curData, _ := cd.(map[string]any)
	planData, ok := pd.(map[string]any)
	if !ok {
		return false
	}
	var literals []string
	for _, k := range sortedKeys(planData) {
		v := renderdiff.ScalarText(planData[k])
		if c, had := curData[k]; had && renderdiff.ScalarText(c) == v {
			continue
		}
		if strings.Contains(v, "\n") {
			return false
		}
		literals = append(literals, k+"="+v)
	}
	if len(literals) == 0 {
		return false
	}
	text, err := t.text(t.k.file)
	if err != nil {
		return false
	}
	var kz types.Kustomization
	if yaml.Unmarshal(text, &kz) != nil {
		return false
	}
	name := t.sourceName(obj, cur)
	at := -1
	for i, g := range kz.ConfigMapGenerator {
		if g.Name == name && g.Behavior == "merge" {
			at = i
		}
	}
	top := manifest.ObjectRef{Doc: 0, Item: -1}
	if at < 0 {
		at = len(kz.ConfigMapGenerator)
		entry := []manifest.KV{{Key: "name", Value: name}}
		if ns := t.generatorNamespace(obj, name); ns != "" {
			entry = append(entry, manifest.KV{Key: "namespace", Value: ns})
		}
		entry = append(entry, manifest.KV{Key: "behavior", Value: "merge"})
		if text, err = manifest.ApplyEdits(t.k.file, text, top, []manifest.Edit{{Op: manifest.OpAppend, Path: "configMapGenerator", Item: entry}}); err != nil {
			return false
		}
	}
	for _, l := range literals {
		if text, err = manifest.ApplyEdits(t.k.file, text, top, []manifest.Edit{{Op: manifest.OpAppend, Path: manifest.IndexPath("configMapGenerator", at) + ".literals", Item: []manifest.KV{{Value: l}}}}); err != nil {
			return false
		}
	}
	return t.try(t.k.file, map[string][]byte{t.k.file: text}, done)
}

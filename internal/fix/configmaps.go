package fix

import (
	"bytes"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/oomdoctor/oomdoctor/internal/lint"
	"github.com/oomdoctor/oomdoctor/internal/manifest"
	"github.com/oomdoctor/oomdoctor/internal/runtimes"

	corev1 "k8s.io/api/core/v1"
)

// ConfigMap is a ConfigMap of the files given: the object, its data, and
// the workloads of the files that read each key ("": every key, an
// envFrom or a whole volume).
type ConfigMap struct {
	Object *manifest.Object
	Data   map[string]string
	Users  map[string][]string
	// Version is a live ConfigMap's resourceVersion (--apply): its
	// change is made only if nobody changed it since it was read.
	Version string
	// Live is the ConfigMap read from the cluster (--apply), nil for one
	// of the files.
	Live *corev1.ConfigMap
}

// ConfigMaps are the ConfigMaps of the files given, by namespace/name as
// written, with who reads them. A heap flag in an env value or a Redis
// maxmemory in a mounted redis.conf then moves with a new limit in the
// ConfigMap itself.
type ConfigMaps map[string]*ConfigMap

// Read adds a file's ConfigMaps and their readers. A file that does not
// parse adds nothing: fixing it says why. A file that names no ConfigMap
// is not parsed.
func (cms ConfigMaps) Read(name string, data []byte) {
	if !bytes.Contains(data, []byte("onfigMap")) {
		return
	}
	_ = manifest.ReadStream(name, bytes.NewReader(data), nil, func(o *manifest.Object) error {
		if o.Kind == "ConfigMap" {
			cm := cms.at(o.Namespace, o.Name)
			cm.Object, cm.Data = o, manifest.StringMap(manifest.Child(o.Node, "data"))
			return nil
		}
		w, ok := manifest.AsWorkload(o)
		if !ok {
			return nil
		}
		for _, r := range w.Spec.ConfigMapReads() {
			cms.at(o.Namespace, r.Name).read(r.Key, o.String())
		}
		return nil
	})
}

func (cms ConfigMaps) at(namespace, name string) *ConfigMap {
	key := namespace + "/" + name
	if cms[key] == nil {
		cms[key] = &ConfigMap{}
	}
	return cms[key]
}

func (cm *ConfigMap) read(key, who string) {
	if cm.Users == nil {
		cm.Users = map[string][]string{}
	}
	if !slices.Contains(cm.Users[key], who) {
		cm.Users[key] = append(cm.Users[key], who)
	}
}

// readers are the workloads that read a key.
func (cm *ConfigMap) readers(key string) []string {
	out := append([]string(nil), cm.Users[key]...)
	for _, w := range cm.Users[""] {
		if !slices.Contains(out, w) {
			out = append(out, w)
		}
	}
	sort.Strings(out)
	return out
}

// ConfigMapEdit is an edit to a ConfigMap of the files that a workload's
// new limit asks for; ApplyConfigMapEdits makes it.
type ConfigMapEdit struct {
	// ConfigMap is namespace/name as written; Key the data key.
	ConfigMap, Key string
	Edit           manifest.Edit
	// For is the workload that asks for it, and the change as told.
	For    string
	Change Change
	// Rule is the lint rule whose fix it is ("": a new limit's).
	Rule string
}

// runtimeContainer is lint's, with the values read from ConfigMaps of
// the files (cms) edited there (manifest.ConfigMapPath).
func runtimeContainer(w *manifest.Workload, c *manifest.Container, cms ConfigMaps) runtimes.Container {
	data := func(name string) map[string]string {
		if cm := cms[w.Namespace+"/"+name]; cm != nil && cm.Object != nil {
			return cm.Data
		}
		return nil
	}
	return lint.RuntimeContainer(w, c, data, true)
}

// intoConfigMap takes an edit into a ConfigMap of the files (manifest.ConfigMapPath),
// with the change that tells it, for ApplyConfigMapEdits.
func intoConfigMap(w *manifest.Workload, e manifest.Edit, c Change) (ConfigMapEdit, bool) {
	cm, path, key, ok := manifest.SplitConfigMapPath(e.Path)
	if !ok {
		return ConfigMapEdit{}, false
	}
	e.Path = path
	return ConfigMapEdit{ConfigMap: cm, Key: key, Edit: e, For: w.Object.String(), Change: c}, true
}

// ApplyConfigMapEdits makes the ConfigMap edits of the results in the
// results that hold the ConfigMaps. A ConfigMap key is changed only when
// every workload of the files that reads it asks for the same new text:
// else the heap or size it holds would move for a workload whose limit
// did not, and a note says what to change by hand.
func ApplyConfigMapEdits(results []*Result, cms ConfigMaps) {
	type field struct{ cm, path string }
	asks := map[field][]ConfigMapEdit{}
	var order []field
	for _, r := range results {
		for _, e := range r.ConfigMapEdits {
			f := field{e.ConfigMap, e.Edit.Path}
			if asks[f] == nil {
				order = append(order, f)
			}
			asks[f] = append(asks[f], e)
		}
	}
	byFile := map[string]*Result{}
	for _, r := range results {
		byFile[r.File] = r
	}
	for _, f := range order {
		list := asks[f]
		cm := cms[f.cm]
		name := strings.TrimPrefix(f.cm, "/") // no namespace written
		first := list[0]
		// Each workload's edits of the key, made in turn on its text
		// (two flags of one JAVA_TOOL_OPTIONS both hold); the value set
		// is the one every workload asks for.
		wants := map[string]string{}
		var askers []string
		for _, e := range list {
			cur, seen := wants[e.For]
			if !seen {
				cur = cm.Data[e.Key]
				askers = append(askers, e.For)
			}
			wants[e.For] = e.Edit.Rewrite(cur)
		}
		same := true
		for _, w := range askers {
			same = same && wants[w] == wants[first.For]
		}
		first.Edit.Value, first.Edit.From, first.Edit.To = wants[first.For], "", ""
		sort.Strings(askers)
		var others []string
		for _, w := range cm.readers(first.Key) {
			if !slices.Contains(askers, w) {
				others = append(others, w)
			}
		}
		byHand := func(why string) {
			for _, e := range list {
				if r := byFile[e.Change.File]; r != nil {
					msg := fmt.Sprintf("%s container %s: %s: not changed, since %s", e.For, e.Change.Container, e.Change.What, why)
					r.Notes = append(r.Notes, Note{File: e.Change.File, Object: e.For, Message: msg})
				}
			}
		}
		target := byFile[cm.Object.File]
		switch {
		case !same:
			byHand(fmt.Sprintf("ConfigMap %s key %s is read by %s, which need different values: give each a ConfigMap of its own", name, first.Key, strings.Join(askers, " and ")))
			continue
		case len(others) > 0 && first.Rule != "":
			byHand(fmt.Sprintf("ConfigMap %s key %s is also read by %s, for which %s asks no such change: change it by hand if it suits them all, or give %s a ConfigMap of its own", name, first.Key, strings.Join(others, ", "), first.Rule, first.For))
			continue
		case len(others) > 0:
			byHand(fmt.Sprintf("ConfigMap %s key %s is also read by %s, whose limit does not change here: change it by hand if it suits them all, or give %s a ConfigMap of its own", name, first.Key, strings.Join(others, ", "), first.For))
			continue
		case target == nil || target.refused:
			byHand(fmt.Sprintf("the file of ConfigMap %s is left untouched: change it by hand", name))
			continue
		}
		ref := manifest.ObjectRef{Doc: cm.Object.Doc, Item: cm.Object.Item}
		fixed, err := manifest.ApplyEdits(target.File, target.Fixed, ref, []manifest.Edit{first.Edit})
		if err != nil {
			byHand(err.Error())
			continue
		}
		target.Fixed = fixed
		target.addObjectEdit(cm.Object, first.Edit)
		for _, e := range list {
			c := e.Change
			c.File, c.Object, c.Container = target.File, "ConfigMap "+name, ""
			c.What += " (for " + e.For + " container " + e.Change.Container + ")"
			target.Changes = append(target.Changes, c)
		}
	}
}

func (r *Result) addObjectEdit(o *manifest.Object, e manifest.Edit) {
	for i := range r.Objects {
		if r.Objects[i].Object.Doc == o.Doc && r.Objects[i].Object.Item == o.Item {
			r.Objects[i].Edits = append(r.Objects[i].Edits, e)
			return
		}
	}
	r.Objects = append(r.Objects, ObjectEdits{Object: o, Edits: []manifest.Edit{e}})
}

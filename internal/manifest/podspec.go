package manifest

import (
	"fmt"

	yaml "go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/api/resource"
)

// podSpecPaths says where the pod spec is in each workload kind. Kinds not
// named here are tried at spec.template.spec (Rollouts and most other
// controllers with a pod template).
var podSpecPaths = map[string]string{
	"Pod":         "spec",
	"PodTemplate": "template.spec",
	"CronJob":     "spec.jobTemplate.spec.template.spec",
}

// Workload is an object with a pod spec: any kind that runs pods.
type Workload struct {
	*Object
	// SpecPath is the path of the pod spec within the object.
	SpecPath string
	Spec     *PodSpec
	// Annotations of the object (not of its pod template).
	Annotations map[string]string
}

// PodSpec is the part of a pod spec that memory checks read, with nodes
// for positions and edits.
type PodSpec struct {
	Node           *yaml.Node
	Containers     []*Container
	InitContainers []*Container
	Ephemeral      []*Container
	Volumes        []*Volume
	// Resources are the pod-level resources (spec.resources), if any.
	Resources *Resources
	// SecurityContext is spec.securityContext, if any.
	SecurityContext *yaml.Node
}

// AllContainers returns init, regular and ephemeral containers, in that order.
func (s *PodSpec) AllContainers() []*Container {
	out := make([]*Container, 0, len(s.InitContainers)+len(s.Containers)+len(s.Ephemeral))
	out = append(out, s.InitContainers...)
	out = append(out, s.Containers...)
	return append(out, s.Ephemeral...)
}

// ConfigMapRead is a ConfigMap key a pod reads: an env value's, or every
// key ("") through an envFrom or a volume without items.
type ConfigMapRead struct{ Name, Key string }

// ConfigMapReads are the ConfigMap keys the pod's containers take env
// from and its volumes show.
func (s *PodSpec) ConfigMapReads() []ConfigMapRead {
	var out []ConfigMapRead
	for _, c := range s.AllContainers() {
		for _, e := range c.Env {
			if e.ConfigMap != "" {
				out = append(out, ConfigMapRead{e.ConfigMap, e.ConfigMapKey})
			}
		}
		for _, e := range c.EnvFrom {
			if e.ConfigMap != "" {
				out = append(out, ConfigMapRead{e.ConfigMap, ""})
			}
		}
	}
	for _, v := range s.Volumes {
		for _, cm := range v.ConfigMaps {
			if cm.Name != "" && len(cm.Items) == 0 {
				out = append(out, ConfigMapRead{cm.Name, ""})
			}
			for key := range cm.Items {
				out = append(out, ConfigMapRead{cm.Name, key})
			}
		}
	}
	return out
}

// ContainerKind says which list a container is in.
type ContainerKind string

// Container kinds, as scan's findings name them.
const (
	RegularContainer   ContainerKind = "container"
	InitContainer      ContainerKind = "init"
	SidecarContainer   ContainerKind = "sidecar"
	EphemeralContainer ContainerKind = "ephemeral"
)

// Container is one container of a pod spec.
type Container struct {
	Node *yaml.Node
	// Path is the container's path within the object.
	Path    string
	Kind    ContainerKind
	Name    string
	Image   string
	Command []string
	Args    []string
	Env     []EnvVar
	// EnvFrom lists the ConfigMaps and Secrets whose keys become variables.
	EnvFrom []EnvSource
	// Mounts are its volume mounts.
	Mounts          []Mount
	Resources       Resources
	SecurityContext *yaml.Node
}

// Mount is one volumeMounts entry.
type Mount struct{ Name, MountPath, SubPath string }

// EnvVar is one env entry.
type EnvVar struct {
	Name, Value string
	// From names a ConfigMap key the value comes from ("" when Value is
	// literal or comes from elsewhere).
	ConfigMap, ConfigMapKey string
	// FromOther is set for values from Secrets, fields or resources.
	FromOther bool
	// ResourceField and Divisor are a resourceFieldRef's (the downward
	// API: limits.memory, the limit in bytes over the divisor).
	ResourceField, Divisor string
	Node                   *yaml.Node
	Path                   string
}

// EnvSource is one envFrom entry.
type EnvSource struct {
	ConfigMap, Secret, Prefix string
}

// Resources are a container's (or the pod's) memory and CPU settings.
type Resources struct {
	// Path is the path of the resources field (which may be missing).
	Path                       string
	MemoryRequest, MemoryLimit *Quantity
	CPURequest, CPULimit       *Quantity
}

// Quantity is a parsed quantity with the node it came from. Value is nil
// when the text does not parse.
type Quantity struct {
	Text  string
	Value *resource.Quantity
	Node  *yaml.Node
	Path  string
}

// Bytes is the quantity in bytes (rounded up), 0 when it did not parse.
func (q *Quantity) Bytes() int64 {
	if q == nil || q.Value == nil {
		return 0
	}
	return q.Value.Value()
}

// Set tells whether the quantity is present and not zero (a zero limit
// means no limit to the kubelet).
func (q *Quantity) Set() bool { return q != nil && q.Value != nil && !q.Value.IsZero() }

// Volume is one volume of a pod spec; only memory-backed emptyDirs matter
// here.
type Volume struct {
	Name string
	Node *yaml.Node
	Path string
	// ConfigMaps are the ConfigMaps the volume shows: a configMap
	// volume's one, or a projected volume's configMap sources.
	ConfigMaps []VolumeConfigMap
	// EmptyDirMemory is set for an emptyDir with medium Memory (tmpfs).
	EmptyDirMemory bool
	// SizeLimit of the emptyDir, if set.
	SizeLimit *Quantity
}

// VolumeConfigMap is a ConfigMap a volume shows, with its items (key to
// path; none: every key under its own name).
type VolumeConfigMap struct {
	Name  string
	Items map[string]string
}

// volumeConfigMap reads a configMap volume source, or a projected
// volume's configMap source.
func volumeConfigMap(cm *yaml.Node) VolumeConfigMap {
	v := VolumeConfigMap{Name: ScalarValue(Child(cm, "name"))}
	for _, it := range Items(Child(cm, "items")) {
		if v.Items == nil {
			v.Items = map[string]string{}
		}
		v.Items[ScalarValue(Child(it, "key"))] = ScalarValue(Child(it, "path"))
	}
	return v
}

// AsWorkload returns the object as a workload when it has a pod spec.
func AsWorkload(o *Object) (*Workload, bool) {
	specPath, ok := podSpecPaths[o.Kind]
	if !ok {
		specPath = "spec.template.spec"
	}
	spec, found := Lookup(o.Node, specPath)
	if !found || spec.Kind != yaml.MappingNode {
		return nil, false
	}
	if Child(spec, "containers") == nil {
		return nil, false
	}
	w := &Workload{Object: o, SpecPath: specPath, Spec: readPodSpec(spec, specPath)}
	if md := Child(o.Node, "metadata"); md != nil {
		w.Annotations = StringMap(Child(md, "annotations"))
	}
	return w, true
}

func readPodSpec(n *yaml.Node, path string) *PodSpec {
	s := &PodSpec{Node: n, SecurityContext: Child(n, "securityContext")}
	for i, c := range Items(Child(n, "containers")) {
		s.Containers = append(s.Containers, readContainer(c, IndexPath(JoinPath(path, "containers"), i), RegularContainer))
	}
	for i, c := range Items(Child(n, "initContainers")) {
		kind := InitContainer
		if ScalarValue(Child(c, "restartPolicy")) == "Always" {
			kind = SidecarContainer
		}
		s.InitContainers = append(s.InitContainers, readContainer(c, IndexPath(JoinPath(path, "initContainers"), i), kind))
	}
	for i, c := range Items(Child(n, "ephemeralContainers")) {
		s.Ephemeral = append(s.Ephemeral, readContainer(c, IndexPath(JoinPath(path, "ephemeralContainers"), i), EphemeralContainer))
	}
	for i, v := range Items(Child(n, "volumes")) {
		vol := &Volume{Name: ScalarValue(Child(v, "name")), Node: v, Path: IndexPath(JoinPath(path, "volumes"), i)}
		if ed := Child(v, "emptyDir"); ed != nil {
			vol.EmptyDirMemory = ScalarValue(Child(ed, "medium")) == "Memory"
			vol.SizeLimit = quantity(Child(ed, "sizeLimit"), vol.Path+".emptyDir.sizeLimit")
		}
		if cm := Child(v, "configMap"); cm != nil {
			vol.ConfigMaps = append(vol.ConfigMaps, volumeConfigMap(cm))
		}
		for _, src := range Items(Child(Child(v, "projected"), "sources")) {
			if cm := Child(src, "configMap"); cm != nil {
				vol.ConfigMaps = append(vol.ConfigMaps, volumeConfigMap(cm))
			}
		}
		s.Volumes = append(s.Volumes, vol)
	}
	if r := Child(n, "resources"); r != nil {
		res := readResources(r, JoinPath(path, "resources"))
		s.Resources = &res
	}
	return s
}

func readContainer(n *yaml.Node, path string, kind ContainerKind) *Container {
	c := &Container{
		Node: n, Path: path, Kind: kind,
		Name:            ScalarValue(Child(n, "name")),
		Image:           ScalarValue(Child(n, "image")),
		Command:         Strings(Child(n, "command")),
		Args:            Strings(Child(n, "args")),
		SecurityContext: Child(n, "securityContext"),
	}
	c.Resources = readResources(Child(n, "resources"), path+".resources")
	for i, e := range Items(Child(n, "env")) {
		v := EnvVar{Name: ScalarValue(Child(e, "name")), Value: ScalarValue(Child(e, "value")), Node: e, Path: IndexPath(path+".env", i)}
		if from := Child(e, "valueFrom"); from != nil {
			if ref := Child(from, "configMapKeyRef"); ref != nil {
				v.ConfigMap, v.ConfigMapKey = ScalarValue(Child(ref, "name")), ScalarValue(Child(ref, "key"))
			} else {
				v.FromOther = true
				if ref := Child(from, "resourceFieldRef"); ref != nil {
					v.ResourceField, v.Divisor = ScalarValue(Child(ref, "resource")), ScalarValue(Child(ref, "divisor"))
				}
			}
		}
		c.Env = append(c.Env, v)
	}
	for _, m := range Items(Child(n, "volumeMounts")) {
		c.Mounts = append(c.Mounts, Mount{Name: ScalarValue(Child(m, "name")), MountPath: ScalarValue(Child(m, "mountPath")), SubPath: ScalarValue(Child(m, "subPath"))})
	}
	for _, e := range Items(Child(n, "envFrom")) {
		src := EnvSource{Prefix: ScalarValue(Child(e, "prefix"))}
		src.ConfigMap = ScalarValue(Child(Child(e, "configMapRef"), "name"))
		src.Secret = ScalarValue(Child(Child(e, "secretRef"), "name"))
		c.EnvFrom = append(c.EnvFrom, src)
	}
	return c
}

func readResources(n *yaml.Node, path string) Resources {
	r := Resources{Path: path}
	if n == nil {
		return r
	}
	req, lim := Child(n, "requests"), Child(n, "limits")
	r.MemoryRequest = quantity(Child(req, "memory"), path+".requests.memory")
	r.MemoryLimit = quantity(Child(lim, "memory"), path+".limits.memory")
	r.CPURequest = quantity(Child(req, "cpu"), path+".requests.cpu")
	r.CPULimit = quantity(Child(lim, "cpu"), path+".limits.cpu")
	return r
}

// quantity parses a quantity node; nil when the node is absent.
func quantity(n *yaml.Node, path string) *Quantity {
	if n == nil || n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return nil
	}
	q := &Quantity{Text: n.Value, Node: n, Path: path}
	if v, err := resource.ParseQuantity(n.Value); err == nil {
		q.Value = &v
	}
	return q
}

// FormatBytes prints bytes as a Kubernetes quantity: 512Mi, 1536Mi, 2Gi;
// a size in whole megabytes that is no whole MiB in decimal units (1G,
// 500M, as given), not as bytes (1000000000).
func FormatBytes(b int64) string {
	if b%(1<<20) != 0 && b%1_000_000 == 0 {
		return resource.NewQuantity(b, resource.DecimalSI).String()
	}
	return resource.NewQuantity(b, resource.BinarySI).String()
}

// Describe names a container for messages: container "app" (init).
func (c *Container) Describe() string {
	if c.Name == "" {
		// Knative and other CRDs allow a lone container without a name.
		if c.Kind == RegularContainer {
			return "the unnamed container"
		}
		return fmt.Sprintf("the unnamed %s container", c.Kind)
	}
	if c.Kind == RegularContainer {
		return fmt.Sprintf("container %q", c.Name)
	}
	return fmt.Sprintf("%s container %q", c.Kind, c.Name)
}

package manifest

import (
	"strings"
	"testing"
)

// blockConf is a ConfigMap whose config file is a literal block.
const blockConf = "kind: ConfigMap\ndata:\n  redis.conf: |\n    # cache\n    maxmemory 900mb\n\n    save \"\"\n  other: x\n"

func TestApplyEdits(t *testing.T) {
	cases := []struct {
		name  string
		in    string
		ref   ObjectRef
		edits []Edit
		want  string
		err   string
	}{
		{
			name:  "a plain number or bool is written as one, a string quoted",
			in:    "search:\n  image: x # pinned\nlist: []\n",
			edits: []Edit{{Op: OpSet, Path: "search.heapMb", Value: "768", Plain: true}, {Op: OpSet, Path: "search.tag", Value: "768"}, {Op: OpSet, Path: "other.on", Value: "true", Plain: true}, {Op: OpSet, Path: "search.name", Value: "es", Plain: true}},
			want:  "search:\n  image: x # pinned\n  heapMb: 768\n  tag: \"768\"\n  name: es\nlist: []\nother:\n  on: true\n",
		},
		{
			name: "replace a plain scalar, keep the comment",
			in: `apiVersion: v1
kind: Pod
spec:
  containers:
  - name: app # the app
    resources:
      limits:
        memory: 256Mi # too low
`,
			edits: []Edit{{Op: OpSet, Path: "spec.containers[0].resources.limits.memory", Value: "512Mi"}},
			want: `apiVersion: v1
kind: Pod
spec:
  containers:
  - name: app # the app
    resources:
      limits:
        memory: 512Mi # too low
`,
		},
		{
			name: "append after an item that ends in a block scalar",
			in: `patches:
- target:
    kind: Deployment
  patch: |-
    - op: replace
      value: 1Gi

  # the last
other: 1
`,
			edits: []Edit{{Op: OpAppend, Path: "patches", Item: []KV{{Key: "path", Value: "x.yaml"}}}},
			want: `patches:
- target:
    kind: Deployment
  patch: |-
    - op: replace
      value: 1Gi
- path: x.yaml

  # the last
other: 1
`,
		},
		{
			name:  "keep double quotes",
			in:    "spec:\n  memory: \"256Mi\"\n",
			edits: []Edit{{Op: OpSet, Path: "spec.memory", Value: "1Gi"}},
			want:  "spec:\n  memory: \"1Gi\"\n",
		},
		{
			name:  "keep single quotes",
			in:    "spec:\n  memory: '256Mi'\n",
			edits: []Edit{{Op: OpSet, Path: "spec.memory", Value: "1Gi"}},
			want:  "spec:\n  memory: '1Gi'\n",
		},
		{
			name: "add a missing key after the last one of a block mapping",
			in: `spec:
  containers:
  - name: app
    resources:
      requests:
        cpu: 100m
      # limits below
      limits:
        cpu: "1"
  - name: sidecar
`,
			edits: []Edit{{Op: OpSet, Path: "spec.containers[0].resources.requests.memory", Value: "256Mi"}},
			want: `spec:
  containers:
  - name: app
    resources:
      requests:
        cpu: 100m
        memory: 256Mi
      # limits below
      limits:
        cpu: "1"
  - name: sidecar
`,
		},
		{
			name: "create nested keys with the file's indentation",
			in: `spec:
    containers:
    -   name: app
        image: x
`,
			edits: []Edit{{Op: OpSet, Path: "spec.containers[0].resources.limits.memory", Value: "512Mi"}},
			want: `spec:
    containers:
    -   name: app
        image: x
        resources:
            limits:
                memory: 512Mi
`,
		},
		{
			name:  "add into a flow mapping",
			in:    "spec:\n  resources: {requests: {cpu: 100m}}\n",
			edits: []Edit{{Op: OpSet, Path: "spec.resources.requests.memory", Value: "256Mi"}, {Op: OpSet, Path: "spec.resources.limits.memory", Value: "512Mi"}},
			want:  "spec:\n  resources: {requests: {cpu: 100m, memory: 256Mi}, limits: {memory: 512Mi}}\n",
		},
		{
			name:  "fill an empty flow mapping",
			in:    "spec:\n  resources: {}\n",
			edits: []Edit{{Op: OpSet, Path: "spec.resources.limits.memory", Value: "1Gi"}},
			want:  "spec:\n  resources: {limits: {memory: 1Gi}}\n",
		},
		{
			name:  "fill an empty value",
			in:    "spec:\n  resources: # to do\n  image: x\n",
			edits: []Edit{{Op: OpSet, Path: "spec.resources.limits.memory", Value: "1Gi"}},
			want:  "spec:\n  resources: # to do\n    limits:\n      memory: 1Gi\n  image: x\n",
		},
		{
			name:  "CRLF line endings stay",
			in:    "spec:\r\n  a: 1\r\n",
			edits: []Edit{{Op: OpSet, Path: "spec.b", Value: "two"}},
			want:  "spec:\r\n  a: 1\r\n  b: two\r\n",
		},
		{
			name:  "quote values YAML would read as something else",
			in:    "env:\n  a: 1\n",
			edits: []Edit{{Op: OpSet, Path: "env.hex", Value: "0x4B"}, {Op: OpSet, Path: "env.yes", Value: "true"}, {Op: OpSet, Path: "env.flags", Value: "-Xmx512m -XX:+UseG1GC"}},
			want:  "env:\n  a: 1\n  hex: \"0x4B\"\n  yes: \"true\"\n  flags: -Xmx512m -XX:+UseG1GC\n",
		},
		{
			name: "remove a key with its comment and its block",
			in: `spec:
  securityContext:
    runAsUser: 1000
    # not a real field
    oomScoreAdj: -999
  image: x
`,
			edits: []Edit{{Op: OpRemove, Path: "spec.securityContext.oomScoreAdj"}},
			want: `spec:
  securityContext:
    runAsUser: 1000
  image: x
`,
		},
		{
			name:  "remove the only key: its mapping goes too",
			in:    "spec:\n  securityContext:\n    oomScoreAdj: -999\n  image: x\n",
			edits: []Edit{{Op: OpRemove, Path: "spec.securityContext.oomScoreAdj"}},
			want:  "spec:\n  image: x\n",
		},
		{
			name:  "remove the first key of a list item",
			in:    "items:\n- oomScoreAdj: 5\n  name: a\n",
			edits: []Edit{{Op: OpRemove, Path: "items[0].oomScoreAdj"}},
			want:  "items:\n- name: a\n",
		},
		{
			name:  "remove from a flow mapping",
			in:    "sc: {runAsUser: 1, oomScoreAdj: 5}\n",
			edits: []Edit{{Op: OpRemove, Path: "sc.oomScoreAdj"}},
			want:  "sc: {runAsUser: 1}\n",
		},
		{
			name: "append to a block list, Helm's indentation",
			in: `containers:
  - name: app
    env:
      - name: A
        value: "1"
    image: x
`,
			edits: []Edit{{Op: OpAppend, Path: "containers[0].env", Item: []KV{{Key: "name", Value: "GOMEMLIMIT"}, {Key: "value", Value: "460MiB"}}}},
			want: `containers:
  - name: app
    env:
      - name: A
        value: "1"
      - name: GOMEMLIMIT
        value: 460MiB
    image: x
`,
		},
		{
			name:  "append creates the list in the file's style",
			in:    "containers:\n- name: app\n  image: x\n",
			edits: []Edit{{Op: OpAppend, Path: "containers[0].env", Item: []KV{{Key: "name", Value: "GOMEMLIMIT"}, {Key: "value", Value: "460MiB"}}}},
			want:  "containers:\n- name: app\n  image: x\n  env:\n  - name: GOMEMLIMIT\n    value: 460MiB\n",
		},
		{
			name:  "append to a flow list",
			in:    "c:\n  env: []\n",
			edits: []Edit{{Op: OpAppend, Path: "c.env", Item: []KV{{Key: "name", Value: "A"}, {Key: "value", Value: "1"}}}},
			want:  "c:\n  env: [{name: A, value: \"1\"}]\n",
		},
		{
			name: "edit the second document and List item only",
			in: `kind: ConfigMap
data: {a: b}
---
kind: List
items:
- kind: Pod
  spec: {x: 1}
- kind: Pod
  spec: {x: 1}
`,
			ref:   ObjectRef{Doc: 1, Item: 1},
			edits: []Edit{{Op: OpSet, Path: "spec.x", Value: "2"}},
			want: `kind: ConfigMap
data: {a: b}
---
kind: List
items:
- kind: Pod
  spec: {x: 1}
- kind: Pod
  spec: {x: 2}
`,
		},
		{
			name:  "setting the same value changes nothing",
			in:    "a:\n  b: 1Gi   # keep\n",
			edits: []Edit{{Op: OpSet, Path: "a.b", Value: "1Gi"}},
			want:  "a:\n  b: 1Gi   # keep\n",
		},
		{
			name:  "an alias is not edited through",
			in:    "defaults: &res\n  limits: {memory: 1Gi}\nc:\n  resources: *res\n",
			edits: []Edit{{Op: OpSet, Path: "c.resources.limits.memory", Value: "2Gi"}},
			err:   "alias *res",
		},
		{
			name:  "a merged key is overridden locally",
			in:    "base: &b\n  memory: 1Gi\nc:\n  <<: *b\n  cpu: 1\n",
			edits: []Edit{{Op: OpSet, Path: "c.memory", Value: "2Gi"}},
			want:  "base: &b\n  memory: 1Gi\nc:\n  <<: *b\n  cpu: 1\n  memory: 2Gi\n",
		},
		{
			name:  "an anchor an alias repeats is not edited for one of them",
			in:    anchoredLimits,
			edits: []Edit{{Op: OpSet, Path: "spec.containers[0].resources.limits.memory", Value: "512Mi"}},
			err:   "m.yaml:11: editing spec.containers[0].resources.limits.memory would also change spec.containers[1].resources.limits.memory, which reads the same text through a YAML anchor",
		},
		{
			name:  "an anchor another List item's alias repeats is not edited for this one",
			in:    "kind: Other\n---\nkind: List\nitems:\n- kind: Pod\n  spec: {resources: &r {memory: 1Gi}}\n- kind: Pod\n  spec: {resources: *r}\n",
			ref:   ObjectRef{Doc: 1, Item: 0},
			edits: []Edit{{Op: OpSet, Path: "spec.resources.memory", Value: "2Gi"}},
			err:   "m.yaml:8: editing items[0].spec.resources.memory would also change items[1].spec.resources.memory",
		},
		{
			name: "an anchor an alias repeats is edited when both change alike, the alias's edit first",
			in:   anchoredLimits,
			edits: []Edit{
				{Op: OpSet, Path: "spec.containers[1].resources.limits.memory", Value: "512Mi"},
				{Op: OpSet, Path: "spec.containers[0].resources.limits.memory", Value: "512Mi"},
			},
			want: strings.Replace(anchoredLimits, "128Mi", "512Mi", 1),
		},
		{
			name:  "a field set where a merged mapping gives its siblings would drop them",
			in:    "base: &b\n  limits: {cpu: 1, memory: 1Gi}\nc:\n  <<: *b\n",
			edits: []Edit{{Op: OpSet, Path: "c.limits.memory", Value: "2Gi"}},
			err:   "m.yaml:4: editing c.limits.memory would also change c.limits.cpu",
		},
		{
			name:  "a merged field is not removed by removing nothing",
			in:    "base: &b\n  memory: 1Gi\nc:\n  <<: *b\n  cpu: 1\n",
			edits: []Edit{{Op: OpRemove, Path: "c.memory"}},
			err:   "m.yaml:4: c.memory cannot be edited where it is written: a YAML anchor gives its value",
		},
		{
			name:  "a merged field already at the value is left as it is",
			in:    "base: &b\n  memory: 1Gi\nc:\n  <<: *b\n",
			edits: []Edit{{Op: OpSet, Path: "c.memory", Value: "1Gi"}},
			want:  "base: &b\n  memory: 1Gi\nc:\n  <<: *b\n",
		},
		{
			name: "a tagged or anchored scalar keeps its tag and anchor, in each style",
			in:   "a: !!str \"1Gi\"\nb: &m '1Gi' # c\nc: &n !!str 1Gi\nd: !<tag:yaml.org,2002:str> 1Gi\ne: {f: &o 1Gi, g: 2}\nh: !!str |\n  -Xmx1g\n",
			edits: []Edit{
				{Op: OpSet, Path: "a", Value: "2Gi"}, {Op: OpSet, Path: "b", Value: "2Gi"}, {Op: OpSet, Path: "c", Value: "2Gi"},
				{Op: OpSet, Path: "d", Value: "2Gi"}, {Op: OpSet, Path: "e.f", Value: "2Gi"}, {Op: OpSet, Path: "h", Value: "-Xmx2g\n"},
			},
			want: "a: !!str \"2Gi\"\nb: &m '2Gi' # c\nc: &n !!str 2Gi\nd: !<tag:yaml.org,2002:str> 2Gi\ne: {f: &o 2Gi, g: 2}\nh: !!str |\n  -Xmx2g\n",
		},
		{
			name: "a JSON document stays JSON: keys and strings added double-quoted, a number replaced by a string quoted",
			in:   `{"kind": "Pod", "spec": {"containers": [{"name": "a", "env": [{"name": "X", "value": "1"}], "resources": {"limits": {"memory": 536870912}, "requests": {"memory": null}}}, {"name": "b"}]}}` + "\n",
			edits: []Edit{
				{Op: OpAppend, Path: "spec.containers[0].env", Item: []KV{{Key: "GOMEMLIMIT", Value: "900MiB"}, {Key: "n", Value: "3", Plain: true}}},
				{Op: OpSet, Path: "spec.containers[0].resources.limits.memory", Value: "1Gi"},
				{Op: OpSet, Path: "spec.containers[0].resources.requests.memory", Value: "512Mi"},
				{Op: OpSet, Path: "spec.containers[1].resources.limits.memory", Value: "256Mi"},
				{Op: OpSet, Path: "spec.replicas", Value: "2", Plain: true},
			},
			want: `{"kind": "Pod", "spec": {"containers": [{"name": "a", "env": [{"name": "X", "value": "1"}, {"GOMEMLIMIT": "900MiB", "n": 3}], "resources": {"limits": {"memory": "1Gi"}, "requests": {"memory": "512Mi"}}}, {"name": "b", "resources": {"limits": {"memory": "256Mi"}}}], "replicas": 2}}` + "\n",
		},
		{
			name:  "a value its tag does not fit",
			in:    "a: !!int 1073741824\n",
			edits: []Edit{{Op: OpSet, Path: "a", Value: "2Gi"}},
			err:   "m.yaml:1: the value is tagged !!int, which 2Gi is not; edit it by hand",
		},
		{
			name:  "a block scalar is left alone",
			in:    "env:\n  opts: |\n    -Xmx1g\n",
			edits: []Edit{{Op: OpSet, Path: "env.opts", Value: "-Xmx512m"}},
			err:   "block scalar",
		},
		{
			name:  "a literal block: one line of a config file",
			in:    blockConf,
			edits: []Edit{{Op: OpSet, Path: `data["redis.conf"]`, Value: "# cache\nmaxmemory 384mb\n\nsave \"\"\n"}},
			want:  "kind: ConfigMap\ndata:\n  redis.conf: |\n    # cache\n    maxmemory 384mb\n\n    save \"\"\n  other: x\n",
		},
		{
			name:  "a literal block: CRLF and strip chomping, the last line",
			in:    "data:\r\n  opts: |-\r\n      -Xms1g\r\n      -Xmx1g\r\n",
			edits: []Edit{{Op: OpSet, Path: "data.opts", Value: "-Xms1g\n-Xmx512m"}},
			want:  "data:\r\n  opts: |-\r\n      -Xms1g\r\n      -Xmx512m\r\n",
		},
		{
			name:  "a literal block: two lines apart, the one between kept",
			in:    blockConf,
			edits: []Edit{{Op: OpSet, Path: `data["redis.conf"]`, Value: "# the cache\nmaxmemory 900mb\n\nsave 60 1\n"}},
			want:  "kind: ConfigMap\ndata:\n  redis.conf: |\n    # the cache\n    maxmemory 900mb\n\n    save 60 1\n  other: x\n",
		},
		{
			name:  "a literal block: another number of lines",
			in:    blockConf,
			edits: []Edit{{Op: OpSet, Path: `data["redis.conf"]`, Value: "maxmemory 384mb\n"}},
			err:   "another number of lines",
		},
		{
			name:  "a folded block",
			in:    "data:\n  opts: >\n    -Xmx1g\n",
			edits: []Edit{{Op: OpSet, Path: "data.opts", Value: "-Xmx512m\n"}},
			err:   "block scalar",
		},
		{
			name:  "a literal block: a first line that would start with a space",
			in:    blockConf,
			edits: []Edit{{Op: OpSet, Path: `data["redis.conf"]`, Value: " # cache\nmaxmemory 900mb\n\nsave \"\"\n"}},
			err:   "cannot be written",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ref := tc.ref
			if ref == (ObjectRef{}) {
				ref = ObjectRef{Doc: 0, Item: -1}
			}
			got, err := ApplyEdits("m.yaml", []byte(tc.in), ref, tc.edits)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("want an error with %q, got %v\n%s", tc.err, err, got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tc.want)
			}
			// Idempotent: the same edits again change nothing.
			again, err := ApplyEdits("m.yaml", got, ref, tc.edits)
			if err == nil && tc.edits[0].Op == OpSet && string(again) != string(got) {
				t.Errorf("a second run changed it again:\n%s", again)
			}
		})
	}
}

// An appended item's plain values are written as numbers, the others as
// strings, in block and flow lists.
// A scalar item (one KV without a key) is appended as a scalar: to a
// block list, a flow list, a list it creates, in a block or flow mapping.
func TestAppendScalarItem(t *testing.T) {
	item := []KV{{Value: "JAVA_OPTS=-Xmx272m -XX:+UseG1GC"}}
	for in, want := range map[string]string{
		"- name: a\n  literals:\n  - A=1\n":        "- name: a\n  literals:\n  - A=1\n  - JAVA_OPTS=-Xmx272m -XX:+UseG1GC\n",
		"- name: a\n  literals: [A=1]\n":           "- name: a\n  literals: [A=1, JAVA_OPTS=-Xmx272m -XX:+UseG1GC]\n",
		"- name: a\n  behavior: merge\n":           "- name: a\n  behavior: merge\n  literals:\n  - JAVA_OPTS=-Xmx272m -XX:+UseG1GC\n",
		"- {name: a, behavior: merge}\n":           "- {name: a, behavior: merge, literals: [JAVA_OPTS=-Xmx272m -XX:+UseG1GC]}\n",
		"- name: a\n  literals:\n  - \"B=a: b\"\n": "- name: a\n  literals:\n  - \"B=a: b\"\n  - JAVA_OPTS=-Xmx272m -XX:+UseG1GC\n",
	} {
		got, err := ApplyEdits("k.yaml", []byte(in), ObjectRef{Doc: 0, Item: -1}, []Edit{{Op: OpAppend, Path: "[0].literals", Item: item}})
		if err != nil || string(got) != want {
			t.Errorf("%q: got %q (%v), want %q", in, got, err, want)
		}
	}
	// A value YAML would read otherwise is quoted.
	got, err := ApplyEdits("k.yaml", []byte("l:\n- a\n"), ObjectRef{Doc: 0, Item: -1}, []Edit{{Op: OpAppend, Path: "l", Item: []KV{{Value: "K=v # not a comment"}}}})
	if want := "l:\n- a\n- \"K=v # not a comment\"\n"; err != nil || string(got) != want {
		t.Errorf("got %q (%v), want %q", got, err, want)
	}
}

// In a flow collection, where , [ ] { } end a plain scalar, a value with
// them is quoted: set, added and appended; in block style it stays plain.
func TestFlowValuesWithIndicatorsAreQuoted(t *testing.T) {
	for _, tc := range []struct {
		in   string
		edit Edit
		want string
	}{
		{"m: {a: 1, b: x}\n", Edit{Op: OpSet, Path: "m.b", Value: "p,q"}, "m: {a: 1, b: \"p,q\"}\n"},
		{"m: {a: 1}\n", Edit{Op: OpSet, Path: "m.c.d", Value: "r]s"}, "m: {a: 1, c: {d: \"r]s\"}}\n"},
		{"l: [{name: A, value: x}]\n", Edit{Op: OpSet, Path: "l[0].value", Value: "-Dx=a,b -Xmx1g"}, "l: [{name: A, value: \"-Dx=a,b -Xmx1g\"}]\n"},
		{"l: [a]\n", Edit{Op: OpAppend, Path: "l", Item: []KV{{Value: "K=a,b"}}}, "l: [a, \"K=a,b\"]\n"},
		{"l: []\n", Edit{Op: OpAppend, Path: "l", Item: []KV{{Key: "x", Value: "{y}"}}}, "l: [{x: \"{y}\"}]\n"},
		{"m:\n  b: x\n", Edit{Op: OpSet, Path: "m.b", Value: "p,q"}, "m:\n  b: p,q\n"},
		{"l:\n- a\n", Edit{Op: OpAppend, Path: "l", Item: []KV{{Value: "K=a,b"}}}, "l:\n- a\n- K=a,b\n"},
	} {
		got, err := ApplyEdits("k.yaml", []byte(tc.in), ObjectRef{Doc: 0, Item: -1}, []Edit{tc.edit})
		if err != nil || string(got) != tc.want {
			t.Errorf("%q %s %s: got %q (%v), want %q", tc.in, tc.edit.Op, tc.edit.Path, got, err, tc.want)
		}
	}
}

func TestAppendPlainItem(t *testing.T) {
	item := []KV{{Key: "name", Value: "8080"}, {Key: "port", Value: "8080", Plain: true}}
	for in, want := range map[string]string{
		"ports: []\n":                        "ports: [{name: \"8080\", port: 8080}]\n",
		"ports:\n- name: http\n  port: 80\n": "ports:\n- name: http\n  port: 80\n- name: \"8080\"\n  port: 8080\n",
		"other: 1\n":                         "other: 1\nports:\n- name: \"8080\"\n  port: 8080\n",
	} {
		got, err := ApplyEdits("x.yaml", []byte(in), ObjectRef{Doc: 0, Item: -1}, []Edit{{Op: OpAppend, Path: "ports", Item: item}})
		if err != nil || string(got) != want {
			t.Errorf("%q: got %q (%v), want %q", in, got, err, want)
		}
	}
}

// anchoredLimits is a pod whose sidecar repeats the app's limits by an
// alias.
const anchoredLimits = `kind: Pod
spec:
  containers:
  - name: app
    resources:
      limits: &lim
        memory: 128Mi # shared
  - name: sidecar
    resources:
      requests: {memory: 64Mi}
      limits: *lim
`

// ThroughAliases edits a field an alias gives at its anchor, the anchor's
// own place counted as edited, when every other reader is edited alike.
func TestEditThroughAliases(t *testing.T) {
	in := "defaults: &res\n  limits: {memory: 256Mi}\napi:\n  resources: *res\nlist:\n- *res\nworker:\n  resources: *res\n"
	opts := EditOptions{ThroughAliases: true}
	all := []Edit{
		{Op: OpSet, Path: "api.resources.limits.memory", Value: "1Gi"},
		{Op: OpSet, Path: "list[0].limits.memory", Value: "1Gi"},
		{Op: OpSet, Path: "worker.resources.limits.memory", Value: "1Gi"},
	}
	got, err := ApplyEditsWith("v.yaml", []byte(in), ObjectRef{Item: -1}, all, opts)
	if want := strings.Replace(in, "256Mi", "1Gi", 1); err != nil || string(got) != want {
		t.Errorf("all alike: %v\n%s\nwant\n%s", err, got, want)
	}
	_, err = ApplyEditsWith("v.yaml", []byte(in), ObjectRef{Item: -1}, all[:2], opts)
	if err == nil || !strings.Contains(err.Error(), "v.yaml:8: editing ") || !strings.Contains(err.Error(), "would also change worker.resources.limits.memory") {
		t.Errorf("one reader left: %v", err)
	}
	if _, err := ApplyEdits("v.yaml", []byte(in), ObjectRef{Item: -1}, all); err == nil || !strings.Contains(err.Error(), "goes through the alias *res") {
		t.Errorf("without the option: %v", err)
	}
}

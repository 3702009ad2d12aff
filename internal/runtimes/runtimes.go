// Package runtimes finds which language runtime a container runs (JVM, Go,
// Node.js, .NET) and the heap settings it was given, from its image,
// command, args and environment, with the place each setting was written.
// lint checks heap settings against the memory limit with it; diagnosis and
// fix will size heaps with the same rules (Fit). It also finds Redis and
// Memcached and the data size they were given (caches.go), which lint and
// fix check against the limit the same way.
package runtimes

import (
	"path"
	"regexp"
	"strings"
)

// Runtime names a language runtime. The values appear in output (the cause
// runtime-heap names its runtime): never rename one.
type Runtime string

const (
	Unknown Runtime = ""
	JVM     Runtime = "jvm"
	Go      Runtime = "go"
	Node    Runtime = "node"
	DotNet  Runtime = "dotnet"
)

// Container is what the inspection reads; callers convert their container
// type (a manifest's, a live pod's) to it.
type Container struct {
	Image   string
	Command []string
	Args    []string
	Env     []Env
	// ArgsPath and CommandPath locate the lists for edits ("" when unknown).
	CommandPath, ArgsPath string
	// Files are files the container sees that the caller could read
	// (ConfigMaps mounted), by path: a server's config file.
	Files map[string]File
}

// File is a file's text and where it comes from: From for people
// ("configmap redis key redis.conf"), ConfigMap and Key for programs, Path
// the field that holds the text, for edits ("" when not editable; the
// caller sets it).
type File struct{ Text, From, ConfigMap, Key, Path string }

// Env is one environment variable with a literal value.
type Env struct {
	Name, Value string
	// ResourceField is set for a value from the downward API's
	// resourceFieldRef (limits.memory), with its Divisor ("" for 1);
	// Value is then empty.
	ResourceField, Divisor string
	// Path locates the env entry for edits ("" when unknown).
	Path string
}

// Setting is one heap-related flag as written, and where.
type Setting struct {
	// Flag is the text: "-Xmx1536m", "GOMEMLIMIT=900MiB".
	Flag string
	// Source is where it was read: "args", "command", or an env name.
	Source string
	// Path is the field that holds it: an env entry's value or an
	// args/command item ("" when unknown).
	Path string
	// Value is the text the field holds; a fix replaces Flag within it.
	Value string
	// Line is the line of Value that holds the setting, from 1, when
	// Value is a config file's text (0 otherwise).
	Line int
}

// Info is what Inspect found.
type Info struct {
	Runtime Runtime
	// Why says what gave the runtime away: "image eclipse-temurin:17".
	Why string
	// JVM: the heap cap (explicit -Xmx/MaxHeapSize) or percentage
	// (MaxRAMPercentage) in force, with the setting.
	HeapBytes   int64
	HeapPercent float64
	Heap        *Setting
	// JVM: the initial heap (-Xms, -XX:InitialHeapSize). Without -Xmx the
	// JVM raises its maximum heap to it; above -Xmx it does not start.
	InitialHeapBytes int64
	InitialHeap      *Setting
	// JVM: the thread stack size (-Xss, -XX:ThreadStackSize), with the
	// setting; 0 when not set (1 MiB on 64-bit Linux).
	StackBytes int64
	Stack      *Setting
	// JVM: MaxRAM caps what the JVM thinks the machine has.
	MaxRAMBytes int64
	// JVM: -XX:-UseContainerSupport makes it ignore the cgroup limit.
	ContainerSupportOff *Setting
	// JVM and Node.js: memory flags the runtime refuses at start
	// (-Xmx1Gi, -Xmx1.5g, MaxRAMPercentage=75%, --max-old-space-size=1Gi):
	// it does not start.
	BadFlags []*Setting
	// JVM: flags older JDKs (8 before 8u191, 9) do not know and refuse to
	// start with (MaxRAMPercentage, UseContainerSupport, ...), unless
	// -XX:+IgnoreUnrecognizedVMOptions is given (IgnoresUnknown).
	NewerFlags     []*Setting
	IgnoresUnknown bool
	// JVM: the JDK version read from the image tag.
	JDK JDKVersion
	// Go: GOMEMLIMIT (bytes, 0 when unset or off) and GOGC.
	GoMemLimit    int64
	GoMemLimitSet *Setting
	// GoMemLimitFrom is GOMEMLIMIT taken from the downward API
	// (resourceFieldRef): its value follows the limit (GoMemLimitFor).
	GoMemLimitFrom *FieldRef
	GOGC           string
}

// FieldRef is an env value from the downward API's resourceFieldRef.
type FieldRef struct {
	// Resource is limits.memory, requests.memory, ...; Divisor the
	// divisor as written ("" for 1), DivisorBytes its value.
	Resource, Divisor string
	DivisorBytes      int64
	// Path is the env entry (for edits; "" when unknown).
	Path string
}

// Inspect looks at a container and says which runtime it runs and its heap
// settings. Unknown runtimes give an Info with Runtime Unknown.
func Inspect(c Container) Info {
	words, env, repo, tag := read(c)
	var info Info
	switch {
	case isJVM(words, env, repo):
		info.Runtime = JVM
		info.Why = jvmWhy(words, repo, tag)
		inspectJVM(words, env, &info)
		info.JDK = parseJDK(repo, tag)
	case isDotNet(words, env, repo):
		info.Runtime = DotNet
		info.Why = whyImageOr(repo, tag, "DOTNET_ settings or the dotnet command")
		inspectDotNet(env, &info)
	case isNode(words, env, repo):
		info.Runtime = Node
		info.Why = whyImageOr(repo, tag, "the node command or NODE_OPTIONS")
		inspectNode(words, env, &info)
	case isGo(env, repo):
		info.Runtime = Go
		info.Why = whyImageOr(repo, tag, "Go runtime settings (GOMEMLIMIT, GOGC) in its environment")
		inspectGo(env, &info)
	}
	return info
}

// read is what every inspection reads of a container: its command words
// ($(VAR) expanded, sh -c lines split), its env by name, and its image's
// repository and tag.
func read(c Container) (words []word, env map[string]Env, repo, tag string) {
	env = map[string]Env{}
	for _, e := range c.Env {
		env[e.Name] = e
	}
	c.Command = expandAll(c.Command, env)
	c.Args = expandAll(c.Args, env)
	repo, tag = splitImage(c.Image)
	return commandWords(c), env, repo, tag
}

func whyImageOr(repo, tag, other string) string {
	if repo != "" && knownImage(repo) != Unknown {
		return "image " + repo + ":" + tag
	}
	return other
}

// splitImage returns an image's repository name (last path element, no
// registry) and tag: "eclipse-temurin", "17-jre".
func splitImage(image string) (repo, tag string) {
	image = strings.SplitN(image, "@", 2)[0]
	name := image
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		name, tag = image[:i], image[i+1:]
	}
	if tag == "" {
		tag = "latest"
	}
	return name, tag
}

// imageBase is the last path element of a repository.
func imageBase(repo string) string { return path.Base(repo) }

var varRefRe = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)`)

// expandAll expands $(VAR) references in command and args from the
// container's env, as the kubelet does.
func expandAll(list []string, env map[string]Env) []string {
	out := make([]string, len(list))
	for i, s := range list {
		if !strings.Contains(s, "$(") {
			out[i] = s
			continue
		}
		out[i] = varRefRe.ReplaceAllStringFunc(s, func(m string) string {
			if e, ok := env[m[2:len(m)-1]]; ok {
				return e.Value
			}
			return m
		})
	}
	return out
}

// splitFlags splits an options string at whitespace, keeping quoted parts
// together.
func splitFlags(s string) []string {
	var out []string
	var cur strings.Builder
	quote := byte(0)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0 && c == quote:
			quote = 0
		case quote == 0 && (c == '"' || c == '\''):
			quote = c
		case quote == 0 && (c == ' ' || c == '\t' || c == '\n'):
			if cur.Len() > 0 {
				out = append(out, cur.String())
				cur.Reset()
			}
		default:
			cur.WriteByte(c)
		}
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}

// commandWords returns command and args split into words, with the source
// and path of each, so "sh -c 'java -Xmx1g -jar app.jar'" is read too.
type word struct {
	text, source, path, value string
}

func commandWords(c Container) []word {
	var out []word
	add := func(list []string, source, listPath string) {
		for i, item := range list {
			p := ""
			if listPath != "" {
				p = listPath + "[" + itoa(i) + "]"
			}
			for _, w := range splitFlags(item) {
				out = append(out, word{text: w, source: source, path: p, value: item})
			}
		}
	}
	add(c.Command, "command", c.CommandPath)
	add(c.Args, "args", c.ArgsPath)
	return out
}

func itoa(i int) string {
	const digits = "0123456789"
	if i < 10 {
		return digits[i : i+1]
	}
	return itoa(i/10) + digits[i%10:i%10+1]
}

// Mounted adds to files those a ConfigMap volume shows where it is mounted
// (at mountPath, or only its subPath file there): each key of data under
// its name, or under its items' paths when items maps any (key to path).
func Mounted(files map[string]File, configMap string, data, items map[string]string, mountPath, subPath string) map[string]File {
	for key, text := range data {
		name := key
		if len(items) > 0 {
			var ok bool
			if name, ok = items[key]; !ok {
				continue
			}
		}
		at := mountPath + "/" + name
		if subPath != "" {
			if subPath != name {
				continue
			}
			at = mountPath
		}
		if files == nil {
			files = map[string]File{}
		}
		files[path.Clean(at)] = File{Text: text, From: "configmap " + configMap + " key " + key, ConfigMap: configMap, Key: key}
	}
	return files
}

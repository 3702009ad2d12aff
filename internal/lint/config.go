package lint

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"

	yaml "go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/oomdoctor/oomdoctor/internal/manifest"
	"github.com/oomdoctor/oomdoctor/internal/model"
)

// ConfigKind is the kind of lint's config file.
const ConfigKind = "LintConfig"

// IgnoreAnnotation silences rules on one object: a comma-separated list of
// rule IDs, or "all".
const IgnoreAnnotation = "oomdoctor.io/ignore"

// Config is lint's configuration: the config file's contents over the
// defaults. Documented in docs/lint.md.
type Config struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	// FailOn is the lowest severity that makes lint exit 1.
	FailOn model.Severity `yaml:"failOn"`
	// Rules holds per-rule settings by rule ID.
	Rules map[string]RuleConfig `yaml:"rules"`
	// Ignore silences rules for matching objects.
	Ignore []IgnoreRule `yaml:"ignore"`

	file string
}

// RuleConfig is one rule's settings.
type RuleConfig struct {
	Disabled bool           `yaml:"disabled"`
	Severity model.Severity `yaml:"severity"`
	// MaxLimitRequestRatio (memory-request-far-below-limit): the highest
	// memory limit/request ratio that passes.
	MaxLimitRequestRatio float64 `yaml:"maxLimitRequestRatio"`
	// MinLimit (go-memlimit-missing): limits from this size up need
	// GOMEMLIMIT.
	MinLimit string `yaml:"minLimit"`
	// Nodes (memory-over-quota): how many nodes a DaemonSet has a pod on
	// (0: counted as one pod).
	Nodes int `yaml:"nodes"`
}

// IgnoreRule silences Rules (IDs, or "all") for objects that match every
// field given.
type IgnoreRule struct {
	Rules      []string `yaml:"rules"`
	Kinds      []string `yaml:"kinds"`
	Namespaces []string `yaml:"namespaces"`
	Names      []string `yaml:"names"`
	Containers []string `yaml:"containers"`
	// Files are glob patterns (path/filepath.Match, and ** for any depth).
	Files  []string `yaml:"files"`
	Reason string   `yaml:"reason"`
}

// DefaultConfig is lint's configuration without a config file.
func DefaultConfig() *Config {
	return &Config{APIVersion: model.APIVersion, Kind: ConfigKind, FailOn: model.SeverityWarning, Rules: map[string]RuleConfig{}}
}

// LoadConfig reads a config file over the defaults. Unknown fields, rule
// IDs and severities are errors with their position.
func LoadConfig(path string) (*Config, error) {
	cfg := DefaultConfig()
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: %v", path, configError(err))
	}
	cfg.file = path
	return cfg, cfg.Validate()
}

// configFields name the config's parts and their fields, for errors on
// an unknown field: the decoder names the Go type.
var configFields = map[string]struct {
	what string
	of   any
}{
	"lint.Config":     {"the config", Config{}},
	"lint.RuleConfig": {"a rule's settings", RuleConfig{}},
	"lint.IgnoreRule": {"an ignore entry", IgnoreRule{}},
}

var unknownField = regexp.MustCompile(`field (\S+) not found in type (\S+)`)

// configError words a decoding error for the config's author: an
// unknown field says where it was and which fields there are.
func configError(err error) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	return unknownField.ReplaceAllStringFunc(msg, func(m string) string {
		sub := unknownField.FindStringSubmatch(m)
		part, ok := configFields[sub[2]]
		if !ok {
			return m
		}
		var names []string
		t := reflect.TypeOf(part.of)
		for i := range t.NumField() {
			if tag, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ","); tag != "" && tag != "-" {
				names = append(names, tag)
			}
		}
		return fmt.Sprintf("unknown field %s in %s (its fields: %s)", sub[1], part.what, strings.Join(names, ", "))
	})
}

// Validate checks the config against the rules that exist.
func (c *Config) Validate() error {
	where := c.file
	if where == "" {
		where = "config"
	}
	if c.Kind != "" && c.Kind != ConfigKind {
		return fmt.Errorf("%s: kind is %q, want %s", where, c.Kind, ConfigKind)
	}
	if c.FailOn == "" {
		c.FailOn = model.SeverityWarning
	}
	if c.FailOn != "none" && c.FailOn.Rank() == 0 {
		return fmt.Errorf("%s: failOn %q: want error, warning, info or none", where, c.FailOn)
	}
	known := map[string]bool{}
	for _, r := range Rules(DefaultConfig()) {
		known[r.ID()] = true
	}
	for _, id := range slices.Sorted(maps.Keys(c.Rules)) { // the same error first, every run
		rc := c.Rules[id]
		if !known[id] {
			return fmt.Errorf("%s: rules: no rule %q (oomdoctor lint --list-rules shows them)", where, id)
		}
		if rc.Severity != "" && rc.Severity.Rank() == 0 {
			return fmt.Errorf("%s: rules.%s.severity %q: want error, warning or info", where, id, rc.Severity)
		}
		if rc.Nodes < 0 {
			return fmt.Errorf("%s: rules.%s.nodes %d: want how many nodes a DaemonSet runs a pod on, 1 or more", where, id, rc.Nodes)
		}
		if rc.Nodes != 0 && id != ruleOverQuota {
			return fmt.Errorf("%s: rules.%s.nodes: only %s counts nodes (rules.%s.nodes)", where, id, ruleOverQuota, ruleOverQuota)
		}
		if rc.MinLimit != "" {
			if _, err := resource.ParseQuantity(rc.MinLimit); err != nil {
				return fmt.Errorf("%s: rules.%s.minLimit %q: %v", where, id, rc.MinLimit, err)
			}
		}
	}
	for i, ig := range c.Ignore {
		if len(ig.Rules) == 0 {
			return fmt.Errorf("%s: ignore[%d]: list the rules to ignore (or \"all\")", where, i)
		}
		for _, id := range ig.Rules {
			if id != "all" && !known[id] {
				return fmt.Errorf("%s: ignore[%d]: no rule %q", where, i, id)
			}
		}
	}
	return nil
}

func (c *Config) disabled(id string) bool { return c.Rules[id].Disabled }

func (c *Config) severity(id string) model.Severity { return c.Rules[id].Severity }

// suppressed says whether an annotation on the object or an ignore entry
// silences rule id for it.
func (c *Config) suppressed(id string, o *manifest.Object, container string) *model.Suppression {
	if md := manifest.Child(o.Node, "metadata"); md != nil {
		if v := manifest.ScalarValue(manifest.Child(manifest.Child(md, "annotations"), IgnoreAnnotation)); v != "" {
			for _, r := range strings.Split(v, ",") {
				if r = strings.TrimSpace(r); r == id || r == "all" {
					return &model.Suppression{Kind: "annotation", Reason: IgnoreAnnotation + ": " + v}
				}
			}
		}
	}
	for _, ig := range c.Ignore {
		if ig.matches(id, o, container) {
			reason := ig.Reason
			if reason == "" {
				reason = "ignored in " + c.file
			}
			return &model.Suppression{Kind: "config", Reason: reason}
		}
	}
	return nil
}

func (ig IgnoreRule) matches(id string, o *manifest.Object, container string) bool {
	return anyOf(ig.Rules, id, "all") && oneOf(ig.Kinds, o.Kind) && oneOf(ig.Namespaces, o.Namespace) &&
		oneOf(ig.Names, o.Name) && (len(ig.Containers) == 0 || container != "" && oneOf(ig.Containers, container)) &&
		matchFiles(ig.Files, o.File)
}

func anyOf(list []string, vals ...string) bool {
	for _, x := range list {
		for _, v := range vals {
			if x == v {
				return true
			}
		}
	}
	return false
}

// oneOf is true for an empty list (no condition) or a list holding v.
func oneOf(list []string, v string) bool { return len(list) == 0 || anyOf(list, v) }

func matchFiles(globs []string, file string) bool {
	if len(globs) == 0 {
		return true
	}
	file = filepath.ToSlash(filepath.Clean(file))
	for _, g := range globs {
		if globMatch(filepath.ToSlash(g), file) {
			return true
		}
	}
	return false
}

// globMatch matches path/filepath patterns, with ** matching any number of
// folders.
func globMatch(pattern, name string) bool {
	if !strings.Contains(pattern, "**") {
		ok, _ := filepath.Match(pattern, name)
		return ok
	}
	prefix, rest, _ := strings.Cut(pattern, "**")
	if !strings.HasPrefix(name, prefix) {
		return false
	}
	rest = strings.TrimPrefix(rest, "/")
	tail := strings.TrimPrefix(name, prefix)
	for {
		if globMatch(rest, tail) || rest == "" {
			return true
		}
		i := strings.Index(tail, "/")
		if i < 0 {
			return false
		}
		tail = tail[i+1:]
	}
}

// ratio is memory-request-far-below-limit's threshold.
func (c *Config) ratio() float64 {
	if r := c.Rules[ruleRequestFarBelowLimit].MaxLimitRequestRatio; r > 0 {
		return r
	}
	return model.MaxLimitRequestRatio
}

// daemonSetNodes is how many pods memory-over-quota counts for a
// DaemonSet, and whether the config says so.
func (c *Config) daemonSetNodes() (int, bool) {
	if n := c.Rules[ruleOverQuota].Nodes; n > 0 {
		return n, true
	}
	return 1, false
}

// goMinLimit is go-memlimit-missing's threshold.
func (c *Config) goMinLimit() int64 {
	if s := c.Rules[ruleGoMemLimitMissing].MinLimit; s != "" {
		if q, err := resource.ParseQuantity(s); err == nil {
			return q.Value()
		}
	}
	return 512 << 20
}

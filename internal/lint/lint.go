// Package lint checks Kubernetes manifests for what gets containers
// OOM-killed, before they are deployed. One file per rule; each rule has a
// stable ID, a default severity and a doc page (docs/rules/ID.md), and
// offers a fix where one can be made without knowing more. Manifests stream
// through: only a handful of small objects (VPAs, HPAs, ConfigMaps, and
// workloads waiting for a ConfigMap) are kept until the end.
package lint

import (
	"bytes"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/oomdoctor/oomdoctor/internal/manifest"
	"github.com/oomdoctor/oomdoctor/internal/model"
	"github.com/oomdoctor/oomdoctor/internal/runtimes"
)

// Rule is a check. Rules implement WorkloadRule, ObjectRule or both, and
// Finisher when they judge after seeing every object.
type Rule interface {
	ID() string
	DefaultSeverity() model.Severity
	// Summary is one line saying what the rule finds.
	Summary() string
}

// WorkloadRule checks each object that has a pod spec.
type WorkloadRule interface {
	Rule
	CheckWorkload(ctx *Context, w *Workload)
}

// ObjectRule sees every object (to collect VPAs, HPAs, ...).
type ObjectRule interface {
	Rule
	CheckObject(ctx *Context, o *manifest.Object)
}

// Finisher judges at the end, with everything collected.
type Finisher interface {
	Finish(ctx *Context)
}

// constructors of every rule, registered by each rule's file.
var constructors []func(*Config) Rule

func register(c func(*Config) Rule) { constructors = append(constructors, c) }

// Rules returns one instance of every rule, sorted by ID.
func Rules(cfg *Config) []Rule {
	out := make([]Rule, 0, len(constructors))
	for _, c := range constructors {
		out = append(out, c(cfg))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID() < out[j].ID() })
	return out
}

// Workload is a workload with its containers' runtimes inspected.
type Workload struct {
	*manifest.Workload
	containers map[*manifest.Container]*seen
}

// seen is what the linter read of a container: its runtime, its server,
// its environment, and the envFrom sources the input does not show.
type seen struct {
	runtime runtimes.Info
	server  runtimes.ServerInfo
	env     []runtimes.Env
	unseen  []string
}

// of is what was read of c (nothing for a container not of w).
func (w *Workload) of(c *manifest.Container) *seen {
	if s := w.containers[c]; s != nil {
		return s
	}
	return &seen{}
}

// Env is the variable a container's process sees under a name, from its
// env or an envFrom ConfigMap of the input (env wins, as in the kubelet),
// with its field for edits ("" when it cannot be edited there).
func (w *Workload) Env(c *manifest.Container, name string) (runtimes.Env, bool) {
	var out runtimes.Env
	found := false
	for _, e := range w.of(c).env {
		if e.Name == name {
			out, found = e, true // the last: env comes after envFrom
		}
	}
	return out, found
}

// UnseenEnv names the envFrom sources of a container whose variables the
// input does not show ("Secret api-env", "ConfigMap go-env": a Secret, or
// a ConfigMap not in the input): a variable found missing may be set
// there, and one written into the manifest would override it.
func (w *Workload) UnseenEnv(c *manifest.Container) []string { return w.of(c).unseen }

// Runtime is what runs in a container.
func (w *Workload) Runtime(c *manifest.Container) runtimes.Info { return w.of(c).runtime }

// Server is the in-memory store a container runs (Redis, Memcached) with
// its data size setting.
func (w *Workload) Server(c *manifest.Container) runtimes.ServerInfo { return w.of(c).server }

// Finding is what a rule reports; the engine adds file, position and
// object.
type Finding struct {
	Object *manifest.Object
	// Path is the field the finding is about; its position is reported
	// (or its closest existing parent's).
	Path      string
	Container string
	Message   string
	// Severity overrides the rule's default when set.
	Severity model.Severity
	Fix      *model.LintFix
}

// Context is what rules report to.
type Context struct {
	Config *Config
	rule   Rule
	linter *Linter
}

// Report records a finding of the current rule.
func (c *Context) Report(f Finding) { c.linter.record(c.rule, f) }

// Mark is where a finding of the current rule about the object's field
// would point (Linter.mark), for ReportAt later.
func (c *Context) Mark(o *manifest.Object, path, container string) model.LintFinding {
	return c.linter.mark(c.rule, o, path, container)
}

// ReportAt records a finding of the current rule at a mark.
func (c *Context) ReportAt(at model.LintFinding, msg string) {
	c.linter.recordMarked(c.rule, at, msg, "")
}

// ReportAtSeverity records a finding of the current rule at a mark, with
// a severity other than the rule's default.
func (c *Context) ReportAtSeverity(at model.LintFinding, sev model.Severity, msg string) {
	c.linter.recordMarked(c.rule, at, msg, sev)
}

// Linter runs rules over a stream of objects.
type Linter struct {
	cfg      *Config
	rules    []Rule
	report   model.LintReport
	stats    manifest.Stats
	cms      map[string]map[string]string // namespace/name → data
	deferred []*manifest.Workload
	// cmFixes lets fixes edit the ConfigMaps of the input that hold a
	// value (EditConfigMaps).
	cmFixes bool
}

// EditConfigMaps makes the automatic fixes of values read from the
// input's ConfigMaps (a heap flag in an env value, a maxmemory in a
// mounted redis.conf) edit them there, at a manifest.ConfigMapPath, as
// oomdoctor fix --lint makes them; without it such a finding has no
// automatic fix, since the finding's object is not the one to edit.
func (l *Linter) EditConfigMaps() *Linter {
	l.cmFixes = true
	return l
}

// New makes a linter with every rule the config enables.
func New(cfg *Config) *Linter {
	l := &Linter{cfg: cfg, cms: map[string]map[string]string{}}
	for _, r := range Rules(cfg) {
		if !cfg.disabled(r.ID()) {
			l.rules = append(l.rules, r)
		}
	}
	l.report.APIVersion = model.APIVersion
	l.report.Kind = model.LintReportKind
	l.report.Findings = []model.LintFinding{}
	return l
}

// Run lints the files (as manifest.ExpandInputs gives them; "-" is stdin)
// and returns the report. Files that do not parse are left out (their
// documents before the one that breaks are linted) and returned as
// Unparsed with the report of the rest; a file that cannot be read is
// an error.
func (l *Linter) Run(files []string, stdin io.Reader) (*model.LintReport, error) {
	var unparsed Unparsed
	err := manifest.ReadEach(files, stdin, &l.stats, l.object, func(pe *manifest.ParseError) { unparsed = append(unparsed, pe) })
	if err != nil {
		return nil, err
	}
	rep := l.end()
	if len(unparsed) > 0 {
		return rep, unparsed
	}
	return rep, nil
}

// Unparsed are the files Run left out because they do not parse; the
// report it returns with them holds the others.
type Unparsed []*manifest.ParseError

func (u Unparsed) Error() string {
	msgs := make([]string, len(u))
	for i, e := range u {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// File is a manifest file's name and content, for RunFiles.
type File struct {
	Name string
	Data []byte
}

// RunFiles lints contents held in memory (fix's output before it is
// written), as Run lints files.
func (l *Linter) RunFiles(files []File) (*model.LintReport, error) {
	for _, f := range files {
		l.stats.Files++
		if err := manifest.ReadStream(f.Name, bytes.NewReader(f.Data), &l.stats, l.object); err != nil {
			return nil, err
		}
	}
	return l.end(), nil
}

// OnlyRule is a config with every rule but one switched off.
func OnlyRule(id string) *Config { return DefaultConfig().Only(id) }

// Only is a copy of c that runs rule id alone, with c's settings,
// severities and ignore entries (and none if c turns id off).
func (c *Config) Only(id string) *Config {
	cfg := *c
	cfg.Rules = map[string]RuleConfig{}
	for _, r := range Rules(c) {
		rc := c.Rules[r.ID()]
		if r.ID() != id {
			rc = RuleConfig{Disabled: true}
		}
		cfg.Rules[r.ID()] = rc
	}
	return &cfg
}

// OverQuotaRule is memory-over-quota's ID, which fix runs on its output.
const OverQuotaRule = ruleOverQuota

// HPAMemoryRule is hpa-memory-target-unreachable's ID, which fix runs on
// its output too.
const HPAMemoryRule = ruleHPAMemory

// end runs the workloads held back and the rules' ends, and gives the
// report.
func (l *Linter) end() *model.LintReport {
	for _, w := range l.deferred {
		l.workload(w)
	}
	for _, r := range l.rules {
		if f, ok := r.(Finisher); ok {
			f.Finish(&Context{Config: l.cfg, rule: r, linter: l})
		}
	}
	return l.finish()
}

func (l *Linter) object(o *manifest.Object) error {
	if o.Kind == "ConfigMap" {
		data := manifest.StringMap(manifest.Child(o.Node, "data"))
		l.cms[o.Namespace+"/"+o.Name] = data
	}
	for _, r := range l.rules {
		if or, ok := r.(ObjectRule); ok {
			or.CheckObject(&Context{Config: l.cfg, rule: r, linter: l}, o)
		}
	}
	w, ok := manifest.AsWorkload(o)
	if !ok {
		return nil
	}
	l.report.Summary.Workloads++
	if usesConfigMaps(w) {
		// Its environment, or a config file it mounts, may come from a
		// ConfigMap further down the input: judge it at the end.
		l.deferred = append(l.deferred, w)
		return nil
	}
	l.workload(w)
	return nil
}

func usesConfigMaps(w *manifest.Workload) bool { return len(w.Spec.ConfigMapReads()) > 0 }

func (l *Linter) workload(mw *manifest.Workload) {
	all := mw.Spec.AllContainers()
	w := &Workload{Workload: mw, containers: make(map[*manifest.Container]*seen, len(all))}
	for _, c := range all {
		s := &seen{}
		for _, src := range c.EnvFrom {
			if _, ok := l.cms[mw.Namespace+"/"+src.ConfigMap]; src.ConfigMap != "" && !ok {
				s.unseen = append(s.unseen, "ConfigMap "+src.ConfigMap)
			}
			if src.Secret != "" {
				s.unseen = append(s.unseen, "Secret "+src.Secret)
			}
		}
		rc := RuntimeContainer(mw, c, func(name string) map[string]string { return l.cms[mw.Namespace+"/"+name] }, l.cmFixes)
		s.runtime, s.server, s.env = runtimes.Inspect(rc), runtimes.InspectServer(rc), rc.Env
		w.containers[c] = s
	}
	for _, r := range l.rules {
		if wr, ok := r.(WorkloadRule); ok {
			wr.CheckWorkload(&Context{Config: l.cfg, rule: r, linter: l}, w)
		}
	}
}

// RuntimeContainer converts a manifest container for runtime inspection.
// data gives a ConfigMap's data by name (nil when it is not known): the
// env values taken from ConfigMaps, and the files ConfigMap volumes show
// where the container mounts them (a server's config file). With
// editConfigMaps, a value read from a known ConfigMap has its field
// there (manifest.ConfigMapPath), for edits; without, none can be made
// there.
func RuntimeContainer(w *manifest.Workload, c *manifest.Container, data func(name string) map[string]string, editConfigMaps bool) runtimes.Container {
	field := func(configMap, key string) string {
		if !editConfigMaps || data(configMap) == nil {
			return ""
		}
		return manifest.ConfigMapPath(w.Namespace, configMap, key)
	}
	rc := runtimes.Container{Image: c.Image, Command: c.Command, Args: c.Args, CommandPath: c.Path + ".command", ArgsPath: c.Path + ".args"}
	for _, src := range c.EnvFrom {
		if src.ConfigMap == "" {
			continue
		}
		for k, v := range data(src.ConfigMap) {
			rc.Env = append(rc.Env, runtimes.Env{Name: src.Prefix + k, Value: v, Path: field(src.ConfigMap, k)})
		}
	}
	for _, e := range c.Env {
		switch {
		case e.ConfigMap != "":
			rc.Env = append(rc.Env, runtimes.Env{Name: e.Name, Value: data(e.ConfigMap)[e.ConfigMapKey], Path: field(e.ConfigMap, e.ConfigMapKey)})
		case !e.FromOther:
			rc.Env = append(rc.Env, runtimes.Env{Name: e.Name, Value: e.Value, Path: e.Path + ".value"})
		case e.ResourceField != "":
			rc.Env = append(rc.Env, runtimes.Env{Name: e.Name, ResourceField: e.ResourceField, Divisor: e.Divisor, Path: e.Path})
		}
	}
	for _, m := range c.Mounts {
		for _, v := range w.Spec.Volumes {
			if v.Name != m.Name {
				continue
			}
			for _, cm := range v.ConfigMaps {
				if d := data(cm.Name); d != nil {
					rc.Files = runtimes.Mounted(rc.Files, cm.Name, d, cm.Items, m.MountPath, m.SubPath)
				}
			}
		}
	}
	for at, f := range rc.Files {
		f.Path = field(f.ConfigMap, f.Key)
		rc.Files[at] = f
	}
	return rc
}

func (l *Linter) record(r Rule, f Finding) {
	lf := l.mark(r, f.Object, f.Path, f.Container)
	lf.Fix = f.Fix
	l.recordMarked(r, lf, f.Message, f.Severity)
}

// mark is where a finding of the rule about the object's field would
// point, and whether it is suppressed, computed from the object's nodes
// now: a rule that judges at the end over many objects keeps marks, not
// nodes.
func (l *Linter) mark(r Rule, o *manifest.Object, path, container string) model.LintFinding {
	node, _ := manifest.Lookup(o.Node, path)
	// The names are cut from the document's text: copies, so that a mark
	// kept to the end does not keep the whole text (paths are built).
	c := strings.Clone
	return model.LintFinding{
		Rule: r.ID(), File: o.File, Line: node.Line, Column: node.Column,
		Document: o.Doc, Item: o.Item,
		Object:    model.ObjectRef{APIVersion: c(o.APIVersion), Kind: c(o.Kind), Namespace: c(o.Namespace), Name: c(o.Name)},
		Container: c(container), Field: path, Suppression: l.cfg.suppressed(r.ID(), o, container),
	}
}

// recordMarked records a finding at a mark.
func (l *Linter) recordMarked(r Rule, lf model.LintFinding, msg string, sev model.Severity) {
	if sev == "" {
		sev = r.DefaultSeverity()
	}
	if s := l.cfg.severity(r.ID()); s != "" {
		sev = s
	}
	lf.Severity, lf.Message = sev, msg
	if lf.Suppression != nil {
		l.report.Suppressed = append(l.report.Suppressed, lf)
		return
	}
	l.report.Findings = append(l.report.Findings, lf)
}

func (l *Linter) finish() *model.LintReport {
	rep := &l.report
	Sort(rep)
	s := &rep.Summary
	s.Files, s.Documents, s.Objects, s.NotObjects = l.stats.Files, l.stats.Documents, l.stats.Objects, l.stats.NotObjects
	s.Findings = len(rep.Findings)
	s.Suppressed = len(rep.Suppressed)
	s.BySeverity = map[model.Severity]int{model.SeverityError: 0, model.SeverityWarning: 0, model.SeverityInfo: 0}
	for _, f := range rep.Findings {
		s.BySeverity[f.Severity]++
	}
	return rep
}

// Sort orders a report's findings again, for a caller that has moved them
// (lint -k names each by the line of the file its object comes from).
func Sort(rep *model.LintReport) {
	sortFindings(rep.Findings)
	sortFindings(rep.Suppressed)
}

// sortFindings orders findings by input order: files in the order read (a
// stable sort keeps it), then line, column, document, item, rule.
func sortFindings(fs []model.LintFinding) {
	order := map[string]int{}
	for _, f := range fs {
		if _, ok := order[f.File]; !ok {
			order[f.File] = len(order)
		}
	}
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.File != b.File {
			return order[a.File] < order[b.File]
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Column != b.Column {
			return a.Column < b.Column
		}
		// Objects at one place (lint -k: those a generator makes) one
		// after the other.
		if a.Document != b.Document {
			return a.Document < b.Document
		}
		if a.Item != b.Item {
			return a.Item < b.Item
		}
		return a.Rule < b.Rule
	})
}

// Failed tells whether a report has findings at or above failOn ("none"
// never fails).
func Failed(rep *model.LintReport, failOn model.Severity) bool {
	if failOn == "none" {
		return false
	}
	for _, f := range rep.Findings {
		if f.Severity.Rank() >= failOn.Rank() {
			return true
		}
	}
	return false
}

// describe names a workload and container for messages.
func describe(w *Workload, c *manifest.Container) string {
	if c == nil {
		return w.Object.String()
	}
	return fmt.Sprintf("%s of %s", c.Describe(), w.Object.String())
}

package kmsg

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Scope says whose memory ran out.
type Scope string

const (
	// ScopeCgroup: a memory cgroup's limit (the container's, the pod's or
	// a parent's; compare OOMMemcg with the victim's TaskMemcg).
	ScopeCgroup Scope = "cgroup"
	// ScopeSystem: the whole machine (constraint CONSTRAINT_NONE).
	ScopeSystem Scope = "system"
	// ScopeOther: a cpuset or memory policy constraint.
	ScopeOther Scope = "other"
)

// Victim is the process the OOM killer killed, as the kernel reported it.
type Victim struct {
	PID  int
	Name string
	// Sizes in bytes.
	TotalVM, AnonRSS, FileRSS, ShmemRSS int64
	UID                                 int
	OOMScoreAdj                         int
}

// Report is one OOM killer report, put together from its records.
type Report struct {
	// Since is the time since boot of its last record.
	Since time.Duration
	// Trigger is the process whose allocation invoked the OOM killer.
	Trigger    string
	GFPMask    string
	Order      int
	Constraint string
	Scope      Scope
	// OOMMemcg is the cgroup whose limit was hit ("" for a system OOM);
	// TaskMemcg the cgroup the victim lived in.
	OOMMemcg, TaskMemcg string
	// Usage, Limit and Failcnt of the OOMing cgroup, in bytes.
	Usage, Limit, Failcnt int64
	// Stats is the OOMing cgroup's memory.stat at the kill (bytes), as the
	// kernel printed it: v1 keys (cache, rss, shmem, total_*) or v2 keys
	// (anon, file, shmem, kernel_stack, ...).
	Stats  map[string]int64
	Victim Victim
}

var (
	invokedRe    = regexp.MustCompile(`^(.*) invoked oom-killer: gfp_mask=(\S+?),? .*order=(-?\d+)`)
	taskInRe     = regexp.MustCompile(`^Task in (\S+) killed as a result of limit of (\S+)`)
	usageRe      = regexp.MustCompile(`^memory: usage (\d+)kB, limit (\d+)kB, failcnt (\d+)`)
	statsForRe   = regexp.MustCompile(`^Memory cgroup stats for (\S+?):(.*)$`)
	statLineRe   = regexp.MustCompile(`^([a-z_]+) (\d+)$`)
	statInlineRe = regexp.MustCompile(`([a-z_]+):(\d+)KB`)
	killedRe     = regexp.MustCompile(`Killed process (\d+) \((.*)\) total-vm:(\d+)kB, anon-rss:(\d+)kB, file-rss:(\d+)kB(?:, shmem-rss:(\d+)kB)?(?:, UID:(\d+))?(?:.*oom_score_adj:(-?\d+))?`)
)

// Assembler collects the records of OOM reports and returns each report
// once its "Killed process" line has arrived. Records of other messages are
// ignored; a new "invoked oom-killer" line starts over.
type Assembler struct {
	cur     *Report
	inStats bool
	lastSeq uint64
	haveSeq bool
}

// Add feeds one record; it returns a report when this record completed one.
func (a *Assembler) Add(rec Record) (*Report, bool) {
	if a.haveSeq && rec.Seq != a.lastSeq+1 && a.cur != nil {
		// Records of this report were lost: it cannot be trusted whole,
		// but the kill line alone still tells the victim. Keep going.
		a.inStats = false
	}
	a.lastSeq, a.haveSeq = rec.Seq, true
	msg := strings.TrimRight(rec.Message, " ")
	if m := invokedRe.FindStringSubmatch(msg); m != nil {
		a.cur = &Report{Trigger: m[1], GFPMask: m[2], Stats: map[string]int64{}}
		a.cur.Order, _ = strconv.Atoi(m[3])
		a.inStats = false
		return nil, false
	}
	if a.cur == nil {
		// A kill line without its header (the header was overwritten, or
		// reading started mid-report) still names the victim.
		if m := killedRe.FindStringSubmatch(msg); m != nil {
			r := &Report{Stats: map[string]int64{}, Since: rec.Since}
			fillVictim(r, m, msg)
			return r, true
		}
		return nil, false
	}
	r := a.cur
	switch {
	case strings.HasPrefix(msg, "oom-kill:"):
		a.inStats = false
		parseOOMKillLine(r, msg)
	case taskInRe.MatchString(msg):
		m := taskInRe.FindStringSubmatch(msg)
		r.TaskMemcg, r.OOMMemcg = m[1], m[2]
		r.Constraint, r.Scope = "CONSTRAINT_MEMCG", ScopeCgroup
	case usageRe.MatchString(msg):
		m := usageRe.FindStringSubmatch(msg)
		r.Usage = kb(m[1])
		r.Limit = kb(m[2])
		r.Failcnt, _ = strconv.ParseInt(m[3], 10, 64)
	case statsForRe.MatchString(msg):
		m := statsForRe.FindStringSubmatch(msg)
		if r.OOMMemcg == "" {
			r.OOMMemcg = m[1]
		}
		if rest := strings.TrimSpace(m[2]); rest != "" {
			// Older kernels print the stats on one line in KB.
			for _, s := range statInlineRe.FindAllStringSubmatch(rest, -1) {
				r.Stats[s[1]] = kb(s[2])
			}
		} else {
			a.inStats = true
		}
	case a.inStats && statLineRe.MatchString(msg):
		m := statLineRe.FindStringSubmatch(msg)
		v, _ := strconv.ParseInt(m[2], 10, 64)
		r.Stats[m[1]] = v
	case killedRe.MatchString(msg):
		m := killedRe.FindStringSubmatch(msg)
		fillVictim(r, m, msg)
		r.Since = rec.Since
		a.cur, a.inStats = nil, false
		return r, true
	default:
		a.inStats = false
	}
	return nil, false
}

func fillVictim(r *Report, m []string, msg string) {
	v := &r.Victim
	v.PID, _ = strconv.Atoi(m[1])
	v.Name = m[2]
	v.TotalVM, v.AnonRSS, v.FileRSS = kb(m[3]), kb(m[4]), kb(m[5])
	if m[6] != "" {
		v.ShmemRSS = kb(m[6])
	}
	if m[7] != "" {
		v.UID, _ = strconv.Atoi(m[7])
	}
	if m[8] != "" {
		v.OOMScoreAdj, _ = strconv.Atoi(m[8])
	}
	if r.Scope == "" {
		switch {
		case strings.HasPrefix(msg, "Memory cgroup out of memory"):
			r.Scope = ScopeCgroup
		case strings.HasPrefix(msg, "Out of memory"):
			r.Scope = ScopeSystem
		}
	}
}

// parseOOMKillLine reads "oom-kill:constraint=...,oom_memcg=...,task_memcg=
// ...,task=...,pid=...,uid=..." (kernel 4.19+). The cpuset field may hold
// commas only in theory; fields are read by name.
func parseOOMKillLine(r *Report, msg string) {
	for _, f := range strings.Split(strings.TrimPrefix(msg, "oom-kill:"), ",") {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			if f == "global_oom" {
				r.Scope = ScopeSystem
			}
			continue
		}
		switch k {
		case "constraint":
			r.Constraint = v
			switch v {
			case "CONSTRAINT_MEMCG":
				r.Scope = ScopeCgroup
			case "CONSTRAINT_NONE":
				r.Scope = ScopeSystem
			default:
				r.Scope = ScopeOther
			}
		case "oom_memcg":
			r.OOMMemcg = v
		case "task_memcg":
			r.TaskMemcg = v
		case "task":
			if r.Victim.Name == "" {
				r.Victim.Name = v
			}
		case "pid":
			r.Victim.PID, _ = strconv.Atoi(v)
		case "uid":
			r.Victim.UID, _ = strconv.Atoi(v)
		}
	}
}

func kb(s string) int64 {
	v, _ := strconv.ParseInt(s, 10, 64)
	return v * 1024
}

// Breakdown is the memory of the OOMing cgroup at the kill, by kind, from
// its stats: anon, page cache, shmem (tmpfs) and kernel memory, in bytes.
// Zero when the report had no stats.
type Breakdown struct {
	Anon, File, Shmem, Kernel int64
}

// Breakdown reads the stats of either cgroup version. v1 stats are the
// cgroup's own unless total_* (hierarchical) values are there.
func (r *Report) Breakdown() Breakdown {
	s := r.Stats
	get := func(keys ...string) int64 {
		for _, k := range keys {
			if v, ok := s[k]; ok {
				return v
			}
		}
		return 0
	}
	if _, v2 := s["anon"]; v2 {
		return Breakdown{
			Anon:   get("anon"),
			File:   get("file"),
			Shmem:  get("shmem"),
			Kernel: get("kernel") + get("kernel_stack") + get("slab_unreclaimable") + get("percpu") + get("sock"),
		}
	}
	return Breakdown{
		Anon:  get("total_rss", "rss") + get("total_rss_huge", "rss_huge"),
		File:  get("total_cache", "cache") - get("total_shmem", "shmem"),
		Shmem: get("total_shmem", "shmem"),
	}
}

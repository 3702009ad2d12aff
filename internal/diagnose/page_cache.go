package diagnose

import (
	"fmt"

	"github.com/oomdoctor/oomdoctor/internal/model"
)

// pageCache fires when page cache (which holds shmem and tmpfs too) made
// up half or more of the charge near a kill while the processes' own
// memory (RSS) stayed under 70% of the limit. The kernel reclaims clean
// page cache before it kills, so this points at what it cannot reclaim in
// time: dirty pages, shmem, tmpfs.
type pageCache struct{}

func init() { register(pageCache{}) }

func (pageCache) ID() model.CauseID { return model.CausePageCache }

func (d pageCache) Detect(in *Input) (*model.Cause, string) {
	if !in.isOOM() || in.Finding.Type == model.SystemOOM {
		return nil, ""
	}
	limit := in.limit()
	var ev []model.Evidence
	conf := model.Confidence("")
	for _, k := range in.KernelKills {
		cache := float64(k.FileBytes + k.ShmemStat)
		if k.UsageBytes > 0 && cache >= 0.5*float64(k.UsageBytes) && float64(k.AnonBytes) < 0.7*float64(k.UsageBytes) {
			conf = model.High
			ev = append(ev, model.Evidence{What: "the charge at the kill", Value: fmt.Sprintf("page cache %s and shmem %s, anon %s, of %s", size(float64(k.FileBytes)), size(float64(k.ShmemStat)), size(float64(k.AnonBytes)), size(float64(k.UsageBytes))), At: &k.At, Source: "node agent (kernel OOM report)"})
		}
	}
	h := in.History
	if conf == "" {
		if h == nil || len(h.Cache) == 0 || len(h.RSS) == 0 {
			return nil, "page cache and RSS over time (container_memory_cache and container_memory_rss from Prometheus), or the node agent's breakdown at the kill, to see what filled the limit"
		}
		if limit <= 0 {
			return nil, ""
		}
		hits, _ := CacheFilled(h, in.kills(), limit, in.preKill())
		if len(hits) == 0 {
			return nil, ""
		}
		for _, k := range hits[:min(len(hits), 3)] {
			ev = append(ev, model.Evidence{What: "before the kill", Value: fmt.Sprintf("page cache %s (%s of cache+RSS), RSS %s (%s of the %s limit)", size(k.Cache), pct(k.Cache, k.Cache+k.RSS), size(k.RSS), pct(k.RSS, limit), size(limit)), At: ts(k.T), Source: h.Source})
		}
		conf = model.Medium
	}
	c := &model.Cause{Confidence: conf, Evidence: ev,
		ConfidenceWhy: "page cache held most of the charge at the kill while the processes' memory was well under the limit",
		Summary:       "Page cache, not the processes' memory, filled the limit: the kernel could not reclaim it in time (dirty pages written faster than they are flushed, or shmem/tmpfs, which only deleting files frees).",
	}
	if conf == model.Medium {
		c.ConfidenceWhy += "; cAdvisor's cache figure does not split dirty pages and shmem out: the node agent's breakdown at the kill would"
	}
	c.Fix = model.Fix{Text: "Find what writes: files on tmpfs or /dev/shm (delete them or cap the volume), or a writer faster than writeback (fsync or O_DIRECT on large writes). Leave room for cache in the limit: it is charged to the container."}
	return c, ""
}

// CacheKill is the charge in the minutes before a kill: the highest page
// cache and RSS.
type CacheKill struct {
	T          int64
	Cache, RSS float64
}

// CacheFilled returns the kills before which page cache held half or more
// of the charge while RSS stayed under 70% of the limit (the kill's own
// when known), and how many of the kills the history has page cache and
// RSS for. preKill is how far before a kill its charge is read (seconds).
func CacheFilled(h *History, kills []Kill, limit float64, preKill int64) (hits []CacheKill, seen int) {
	if h == nil || limit <= 0 {
		return nil, 0
	}
	for _, k := range kills {
		from, to := k.T-preKill, k.T
		cache, rss := peak(window(h.Cache, from, to)), peak(window(h.RSS, from, to))
		if cache+rss == 0 {
			continue
		}
		seen++
		l := limit
		if k.Limit > 0 {
			l = k.Limit
		}
		if cache >= 0.5*(cache+rss) && rss < 0.7*l {
			hits = append(hits, CacheKill{T: k.T, Cache: cache, RSS: rss})
		}
	}
	return hits, seen
}

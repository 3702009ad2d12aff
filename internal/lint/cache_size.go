package lint

import (
	"fmt"
	"strings"

	"github.com/oomdoctor/oomdoctor/internal/model"
	"github.com/oomdoctor/oomdoctor/internal/runtimes"
)

const ruleCacheSize = "cache-size-exceeds-limit"

func init() {
	register(func(*Config) Rule {
		return &cacheSize{rule{ruleCacheSize, "error", "Redis maxmemory or Memcached -m leaves no room under the memory limit"}}
	})
}

type cacheSize struct{ rule }

// CheckWorkload compares the data size a Redis (Valkey, KeyDB) or
// Memcached container was given on its command line with its memory
// limit (runtimes.ServerSizeFit says how much room each needs). A Redis
// without maxmemory, and without a config file that could set it, is told
// as info: its data grows until the kernel kills it.
func (r *cacheSize) CheckWorkload(ctx *Context, w *Workload) {
	for _, c := range runningContainers(w.Spec) {
		if !limited(c) {
			continue
		}
		info := w.Server(c)
		if info.Server == runtimes.NoServer {
			continue
		}
		limit := c.Resources.MemoryLimit.Bytes()
		fit := runtimes.ServerSizeFit(info, limit)
		if info.Size == nil {
			if info.Server == runtimes.Redis && !info.ConfigFile {
				ctx.Report(Finding{Object: w.Object, Path: c.Path, Container: c.Name, Severity: model.SeverityInfo,
					Message: fmt.Sprintf("%s: Redis runs without maxmemory (%s), so its data grows until the kernel kills it at the memory limit %s. Add --maxmemory %s: with an eviction policy (--maxmemory-policy allkeys-lru) a cache drops keys, with noeviction a store refuses writes instead of dying.",
						describe(w, c), info.Why, c.Resources.MemoryLimit.Text, runtimes.RedisBytes(max(fit, 16<<20)))})
			}
			continue
		}
		if info.Bytes <= fit {
			continue
		}
		sev, what := model.SeverityWarning, "leaves too little room under"
		if info.Bytes >= limit {
			sev, what = model.SeverityError, "is not under"
		}
		sep := " "
		if info.Joined {
			sep = ""
		}
		name, unit, room := "Redis maxmemory", "", redisRoom(info)
		newValue := runtimes.RedisBytes(fit)
		if info.Server == runtimes.Memcached {
			name, unit, room = "Memcached item memory", ", in MiB", "its hash table, connection buffers and threads live outside it"
			newValue = runtimes.MemcachedMB(fit)
		}
		flag, newFlag := info.Directive+sep+info.Size.Flag+unit, info.Directive+sep+newValue
		msg := fmt.Sprintf("%s: %s (%s) %s the memory limit %s (%s of it); %s, so the kernel kills the server before it evicts or refuses a write.",
			describe(w, c), name, flag, what, c.Resources.MemoryLimit.Text, percent(info.Bytes, limit), room)
		f := Finding{Object: w.Object, Path: info.Size.Path, Container: c.Name, Severity: sev}
		if f.Path == "" {
			f.Path = c.Path
		}
		if fit < 16<<20 {
			f.Message = msg + fmt.Sprintf(" The limit %s is too small to hold a useful cache: raise it.", c.Resources.MemoryLimit.Text)
		} else {
			f.Message = msg + fmt.Sprintf(" Use %s (%s), or raise the limit.", newFlag, mib(fit))
			if e, ok := replaceAfter(info.Size, info.Directive, newValue); ok {
				f.Fix = fix("use "+newFlag, e)
			}
		}
		ctx.Report(f)
	}
}

// redisRoom says what Redis needs beside maxmemory.
func redisRoom(info runtimes.ServerInfo) string {
	room := "allocator fragmentation and client and replication buffers live outside it"
	if info.Persistence {
		room += ", and a save to disk forks a child whose copied pages (up to the whole dataset under heavy writes) count against the same limit"
	}
	return room
}

// replaceAfter is the edit that writes value in place of s.Flag, the
// first time it follows directive in its field (or the whole field, when
// the value is an item of its own).
func replaceAfter(s *runtimes.Setting, directive, value string) (model.LintEdit, bool) {
	if s == nil || s.Path == "" {
		return model.LintEdit{}, false
	}
	if s.Value == s.Flag {
		return set(s.Path, value), true
	}
	at := -1
	for i := 0; i+len(directive) <= len(s.Value); i++ {
		if strings.HasPrefix(s.Value[i:], directive) && (i == 0 || strings.ContainsRune(" \t\n'\"", rune(s.Value[i-1]))) {
			at = i + len(directive)
			break
		}
	}
	if at < 0 {
		return model.LintEdit{}, false
	}
	j := strings.Index(s.Value[at:], s.Flag)
	if j < 0 {
		return model.LintEdit{}, false
	}
	j += at
	return set(s.Path, s.Value[:j]+value+s.Value[j+len(s.Flag):]), true
}

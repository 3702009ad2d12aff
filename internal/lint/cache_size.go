package lint

import (
	"fmt"

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
		if info.BadSize != nil {
			continue // cache-size-invalid says what is wrong
		}
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
		name, unit, room := "Redis maxmemory", "", redisRoom(info)
		if info.Server == runtimes.Memcached {
			name, unit, room = "Memcached item memory", ", in MiB", "its hash table, connection buffers and threads live outside it"
		}
		newValue := info.SizeValue(fit)
		flag, newFlag := info.SizeFlag(info.Size.Flag)+unit, info.SizeFlag(newValue)
		if info.Size.Path == "" && info.Size.Source != "" {
			flag += " in " + info.Size.Source // a config file's, from a ConfigMap
		}
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
			if path, text, ok := info.SizeEdit(newValue); ok {
				f.Fix = fix("use "+newFlag, set(path, text))
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

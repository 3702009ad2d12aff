package lint

import (
	"fmt"
	"strconv"

	"github.com/oomdoctor/oomdoctor/internal/manifest"
	"github.com/oomdoctor/oomdoctor/internal/runtimes"
)

const ruleCacheSizeInvalid = "cache-size-invalid"

func init() {
	register(func(*Config) Rule {
		return &cacheSizeInvalid{rule{ruleCacheSizeInvalid, "error", "A Redis maxmemory Redis cannot read (it does not start), or a Memcached -m it misreads"}}
	})
}

type cacheSizeInvalid struct{ rule }

// CheckWorkload reports a Redis maxmemory (on the command line, or in a
// config file of the input) that is no memory value to Redis: Kubernetes'
// units (1Gi), a fraction (1.5gb). Redis stops at start ("argument must
// be a memory value"), at every restart. The fix writes the amount meant,
// at most what fits under the limit.
func (r *cacheSizeInvalid) CheckWorkload(ctx *Context, w *Workload) {
	for _, c := range runningContainers(w.Spec) {
		info := w.Server(c)
		bad := info.BadSize
		if bad == nil {
			continue
		}
		if info.Server == runtimes.Memcached {
			r.memcached(ctx, w, c, info)
			continue
		}
		where := ""
		if bad.Line > 0 {
			where = fmt.Sprintf(" (line %d of its config file)", bad.Line)
		}
		f := Finding{Object: w.Object, Path: bad.Path, Container: c.Name,
			Message: fmt.Sprintf("%s: Redis is given %s %s%s, which it refuses as it starts (\"argument must be a memory value\"): the server exits at once, at every restart. Redis takes bytes, or k, kb, m, mb, g, gb (any case; kb, mb and gb are powers of 1024), and no fraction: not Kubernetes' Mi or Gi.", describe(w, c), info.Directive, bad.Flag, where)}
		if f.Path == "" {
			f.Path = c.Path
		}
		if b, ok := runtimes.MeantRedisBytes(bad.Flag); ok && b >= 1<<20 {
			if limited(c) {
				b = min(b, runtimes.ServerSizeFit(info, c.Resources.MemoryLimit.Bytes()))
			}
			value := runtimes.RedisBytes(b)
			f.Message += " Write " + value + "."
			fixed := info
			fixed.Size = bad
			if path, text, ok := fixed.SizeEdit(value); ok && b >= 16<<20 {
				f.Fix = fix("use "+info.Directive+" "+value, set(path, text))
			}
		}
		ctx.Report(f)
	}
}

// memcached reports a -m that Memcached misreads: it takes the number the
// text starts with as MiB, whatever follows (checked with memcached
// 1.6.18: -m 2Gi is a 2 MiB cache, -m 8g 8 MiB, and -m 1Gi does not
// start: "Cannot set item size limit higher than 1/2 of memory max").
func (r *cacheSizeInvalid) memcached(ctx *Context, w *Workload, c *manifest.Container, info runtimes.ServerInfo) {
	bad := info.BadSize
	read, _ := runtimes.MemcachedMiB(bad.Flag)
	what := fmt.Sprintf("a cache of %d MiB", read)
	if read < 2 {
		what = "under 2 MiB it does not start (\"Cannot set item size limit higher than 1/2 of memory max\")"
	}
	f := Finding{Object: w.Object, Path: bad.Path, Container: c.Name,
		Message: fmt.Sprintf("%s: Memcached is given %s %s, which it reads as %d MiB (the number the text starts with, in MiB, whatever follows): %s. -m takes a whole number of MiB.", describe(w, c), info.Directive, bad.Flag, read, what)}
	if f.Path == "" {
		f.Path = c.Path
	}
	if mib, ok := runtimes.MeantMemcachedMiB(bad.Flag); ok && mib > 0 {
		value := strconv.FormatInt(mib, 10)
		if limited(c) {
			value = info.SizeValue(min(mib<<20, runtimes.ServerSizeFit(info, c.Resources.MemoryLimit.Bytes())))
		}
		f.Message += " Write " + info.SizeFlag(value) + "."
		fixed := info
		fixed.Size = bad
		if path, text, ok := fixed.SizeEdit(value); ok {
			f.Fix = fix("use "+info.SizeFlag(value), set(path, text))
		}
	}
	ctx.Report(f)
}

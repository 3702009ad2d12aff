package lint

import (
	"fmt"

	"github.com/oomdoctor/oomdoctor/internal/runtimes"
)

const ruleCacheSizeInvalid = "cache-size-invalid"

func init() {
	register(func(*Config) Rule {
		return &cacheSizeInvalid{rule{ruleCacheSizeInvalid, "error", "A Redis maxmemory that Redis cannot read: it does not start"}}
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
		if info.Server != runtimes.Redis || bad == nil {
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

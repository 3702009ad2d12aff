package fix

import (
	"fmt"

	"github.com/oomdoctor/oomdoctor/internal/manifest"
	"github.com/oomdoctor/oomdoctor/internal/runtimes"
)

// serverEdits moves a Redis maxmemory or Memcached -m set on the command
// line with the container's new limit when it no longer leaves the server
// room (runtimes.ServerSizeFit, lint's cache-size-exceeds-limit): a lower
// limit would otherwise get the server killed before it evicts. A size
// that still fits is left alone.
func serverEdits(w *manifest.Workload, c *manifest.Container, rc runtimes.Container, limit int64) ([]manifest.Edit, []Change, []Note) {
	info := runtimes.InspectServer(rc)
	obj := w.Object.String()
	fit := runtimes.ServerSizeFit(info, limit)
	if info.Size == nil {
		if info.Server == runtimes.Redis && info.ConfigFile && fit >= 16<<20 && len(info.ConfigPath) > 0 {
			// Its config file is not among the files given (another
			// ConfigMap, or one the image writes).
			return nil, nil, []Note{{File: w.File, Object: obj, Message: fmt.Sprintf("%s: Redis reads its settings from %s, which oomdoctor could not read (no ConfigMap it was given or could get shows it); if it sets a maxmemory, keep it at most %s so Redis keeps room under the new limit", c.Describe(), info.ConfigPath, info.SizeValue(fit))}}
		}
		return nil, nil, nil
	}
	if info.Bytes <= fit || fit < 16<<20 {
		return nil, nil, nil // it fits, or the limit holds no useful cache (lint says so)
	}
	oldFlag, newFlag := info.SizeFlag(info.Size.Flag), info.SizeFlag(info.SizeValue(fit))
	path, text, ok := info.SizeEdit(info.SizeValue(fit))
	if !ok {
		return nil, nil, []Note{{File: w.File, Object: obj, Message: fmt.Sprintf("%s: %s is set outside the manifest (%s); change it to %s there so the %s fits the new limit", c.Describe(), oldFlag, info.Size.Source, newFlag, info.Server)}}
	}
	return []manifest.Edit{{Op: manifest.OpSet, Path: path, Value: text}},
		[]Change{{File: w.File, Object: obj, Container: c.Name, What: fmt.Sprintf("%s → %s in %s, so %s keeps room under the new limit", oldFlag, newFlag, info.Size.Source, info.Server),
			Setting: info.Size.Source, From: oldFlag, To: newFlag}}, nil
}

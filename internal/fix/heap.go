package fix

import (
	"fmt"
	"strings"

	"github.com/oomdoctor/oomdoctor/internal/manifest"
	"github.com/oomdoctor/oomdoctor/internal/runtimes"
)

// heapEdits moves a container's explicit heap setting with its new limit
// when it no longer fits (runtimes.JudgeHeap), to the size every command
// uses (runtimes.FitHeap): the heap keeps room for the rest of the runtime.
// A setting that still fits is left alone (a raised limit was raised for
// what lives beside the heap), as is a runtime that sizes itself from the
// limit.
func heapEdits(w *manifest.Workload, c *manifest.Container, rc runtimes.Container, limit int64) ([]manifest.Edit, []Change, []Note) {
	info := runtimes.Inspect(rc)
	obj := w.Object.String()
	var set *runtimes.Setting
	var newFlag string
	raises := false // the others move only down, to fit
	switch info.Runtime {
	case runtimes.JVM:
		// With no -Xmx, an -Xms is the maximum heap: it is what moves.
		set, newFlag, _ = runtimes.JVMHeapSetting(info, limit)
		if set == nil || runtimes.JudgeHeap(runtimes.JVM, runtimes.EffectiveJVMHeap(info, limit), limit) != runtimes.HeapTooBig {
			return nil, nil, nil
		}
	case runtimes.Node:
		if info.Heap == nil {
			return nil, nil, nil
		}
		if runtimes.JudgeHeap(runtimes.Node, info.HeapBytes, limit) != runtimes.HeapTooBig {
			return nil, nil, nil
		}
		set, newFlag = info.Heap, runtimes.HeapFlag(info, limit)
	case runtimes.DotNet:
		if info.Heap == nil || info.HeapBytes == 0 {
			return nil, nil, nil // a percentage moves with the limit
		}
		if runtimes.JudgeHeap(runtimes.DotNet, info.HeapBytes, limit) != runtimes.HeapTooBig {
			return nil, nil, nil
		}
		set, newFlag = info.Heap, runtimes.HeapFlag(info, limit)
	case runtimes.Go:
		if info.GoMemLimitSet == nil || info.GoMemLimit == 0 {
			return nil, nil, nil
		}
		// GOMEMLIMIT is worth nothing above the limit and wastes it far
		// below: it follows the limit either way.
		want := int64(runtimes.GoMemLimitShare * float64(limit))
		if info.GoMemLimit>>20 == want>>20 {
			return nil, nil, nil
		}
		set, newFlag = info.GoMemLimitSet, runtimes.HeapFlag(info, limit)
		raises = want > info.GoMemLimit
	default:
		return nil, nil, nil
	}
	if set.Path == "" {
		return nil, nil, []Note{{File: w.File, Object: obj, Message: fmt.Sprintf("%s: %s is set outside the manifest (%s); change it to %s there so the heap fits the new limit", c.Describe(), set.Flag, set.Source, newFlag)}}
	}
	// Env settings are NAME=value in Flag but only the value in the field.
	oldText, newText := set.Flag, newFlag
	if k, v, ok := strings.Cut(newFlag, "="); ok && strings.HasPrefix(set.Flag, k+"=") && set.Value == strings.TrimPrefix(set.Flag, k+"=") {
		oldText, newText = set.Value, v
	}
	value := strings.Replace(set.Value, oldText, newText, 1)
	edit := manifest.Edit{Op: manifest.OpSet, Path: set.Path, Value: value}
	return []manifest.Edit{edit}, []Change{{File: w.File, Object: obj, Container: c.Name, What: fmt.Sprintf("%s → %s in %s, so the heap fits the new limit", set.Flag, newFlag, set.Source),
		Setting: set.Source, From: set.Flag, To: newFlag, raises: raises}}, nil
}

package main

import (
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"

	"github.com/oomdoctor/oomdoctor/internal/source"
	"github.com/oomdoctor/oomdoctor/internal/source/snapshot"
	"github.com/oomdoctor/oomdoctor/test/promserver"
)

const mi = 1 << 20

// usages give the example's killed containers a history that shows their
// cause (by container name); others get none.
var usages = map[string]struct {
	usage func(t, age int64) float64
	cache float64
}{
	// a leak: +18Mi an hour from 110Mi, killed at 256Mi
	"cart": {func(t, age int64) float64 { return 110*mi + 18*mi*float64(age)/3600 + wob(t) }, 0.05},
	// steady at its 64Mi limit, bursts kill it
	"log-shipper": {func(t, age int64) float64 { return 59*mi + burst(t, 5*3600, 8*mi) + wob(t)/4 }, 0.05},
	// page cache holds most of the 1Gi
	"redis": {func(t, age int64) float64 { return 990*mi + burst(t, 11*3600, 60*mi) + wob(t) }, 0.7},
	// steady at its 128Mi limit
	"fetch-ledger": {func(t, age int64) float64 { return 121*mi + burst(t, 7*3600, 12*mi) + wob(t)/2 }, 0.05},
	"migrate":      {func(t, age int64) float64 { return 122*mi + burst(t, 9*3600, 10*mi) + wob(t)/2 }, 0.05},
	// far above its 512Mi request on an overcommitted node
	"ledger": {func(t, age int64) float64 { return 1300*mi + 80*mi*math.Sin(float64(t)/20000) + wob(t) }, 0.1},
	// envoy beside cart, quiet
	"envoy": {func(t, age int64) float64 { return 40*mi + wob(t)/4 }, 0.1},
}

func wob(t int64) float64 { return promserver.Noise(t) * mi }

func burst(t, every int64, by float64) float64 {
	if t%every < 600 {
		return by
	}
	return 0
}

// writeHistory adds history/history.om.gz to a snapshot: three days of
// cAdvisor and kube-state-metrics series every 5 minutes up to its
// capture, for the containers of usages.
func writeHistory(dir string) error {
	snap, err := snapshot.Load(dir)
	if err != nil {
		return err
	}
	end := snap.AsOf().Unix() / 300 * 300
	sim := promserver.Sim{Start: end - 3*86400, End: end, Scrape: 300, NoOwners: true}
	err = snap.Pods(context.Background(), source.Scope{}, func(p *corev1.Pod) error {
		pod := promserver.Pod{Namespace: p.Namespace, Name: p.Name}
		for _, c := range append(append([]corev1.Container{}, p.Spec.InitContainers...), p.Spec.Containers...) {
			u, ok := usages[c.Name]
			if !ok {
				continue
			}
			sc := promserver.Container{Name: c.Name, Usage: u.usage, CacheShare: u.cache}
			if q, ok := c.Resources.Limits[corev1.ResourceMemory]; ok {
				sc.Limit = float64(q.Value())
			}
			if q, ok := c.Resources.Requests[corev1.ResourceMemory]; ok {
				sc.Request = float64(q.Value())
			}
			pod.Containers = append(pod.Containers, sc)
		}
		if len(pod.Containers) > 0 {
			sim.Pods = append(sim.Pods, pod)
		}
		return nil
	})
	if err != nil {
		return err
	}
	hdir := filepath.Join(dir, "history")
	if err := os.MkdirAll(hdir, 0o755); err != nil {
		return err
	}
	plain := filepath.Join(hdir, ".history.om")
	if _, err := sim.WriteFile(plain); err != nil {
		return err
	}
	defer os.Remove(plain)
	in, err := os.Open(plain)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := filepath.Join(hdir, ".history.om.gz")
	out, err := os.Create(tmp)
	if err != nil {
		return err
	}
	gz, _ := gzip.NewWriterLevel(out, gzip.BestCompression)
	if _, err := io.Copy(gz, in); err != nil {
		out.Close()
		return err
	}
	if err := gz.Close(); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "wrote the history of %d pods to %s\n", len(sim.Pods), filepath.Join(hdir, "history.om.gz"))
	return os.Rename(tmp, filepath.Join(hdir, "history.om.gz"))
}

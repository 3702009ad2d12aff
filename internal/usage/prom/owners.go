package prom

import (
	"context"
	"regexp"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	pmodel "github.com/prometheus/common/model"
)

type owner struct {
	Kind, Name string
	guessed    bool
}

// owners resolves each pod's workload from kube-state-metrics' owner
// series (Pod → ReplicaSet → Deployment, Pod → Job → CronJob), read with
// the series API (an index lookup: no samples are read). Pods whose
// owner series are missing get a workload guessed from their names. The
// pods Query.Owners knows are not looked up.
func (r *run) owners(ctx context.Context, ns string, pods []string) map[string]owner {
	out := make(map[string]owner, len(pods))
	var unknown []string
	for _, p := range pods {
		if w, ok := r.q.Owners[ns+"/"+p]; ok {
			out[p] = owner{Kind: w.Kind, Name: w.Name}
		} else {
			unknown = append(unknown, p)
		}
	}
	if len(unknown) == 0 {
		return out
	}
	sel := r.sel(ns, nil)
	podOwner := r.series(ctx, "kube_pod_owner{"+sel+"}", r.c.cfg.Labels.Pod)
	rsOwner := r.series(ctx, "kube_replicaset_owner{"+sel+"}", "replicaset")
	jobOwner := r.series(ctx, "kube_job_owner{"+sel+"}", "job_name")
	missing := 0
	for _, p := range unknown {
		o, ok := podOwner[p]
		if !ok || o.Kind == "" || o.Kind == "<none>" {
			if !ok {
				missing++
				out[p] = guessOwner(p)
			} else {
				out[p] = owner{Kind: "Pod", Name: p}
			}
			continue
		}
		switch o.Kind {
		case "ReplicaSet":
			if up, ok := rsOwner[o.Name]; ok && up.Kind != "" && up.Kind != "<none>" {
				o = up
			}
		case "Job":
			if up, ok := jobOwner[o.Name]; ok && up.Kind != "" && up.Kind != "<none>" {
				o = up
			}
		}
		out[p] = o
	}
	if missing > 0 {
		r.mu.Lock()
		first := !r.ownersMissing
		r.ownersMissing = true
		r.mu.Unlock()
		if first {
			r.note("kube_pod_owner has no series for some pods (first in namespace %s: %d of %d): their workloads are guessed from the pod names; run kube-state-metrics, or give --from-cluster, for exact owners", ns, missing, len(pods))
		}
	}
	return out
}

// series returns owner_kind/owner_name by the value of key.
func (r *run) series(ctx context.Context, match, key string) map[string]owner {
	var sets []pmodel.LabelSet
	err := r.ask(ctx, func(ctx context.Context) (ws v1.Warnings, err error) {
		sets, ws, err = r.c.api.Series(ctx, []string{match}, r.q.Start, r.q.End)
		return ws, err
	})
	if err != nil {
		r.note("%s: %v; owners are guessed from pod names", match, err)
		return nil
	}
	out := map[string]owner{}
	for _, ls := range sets {
		k := string(ls[pmodel.LabelName(key)])
		if k == "" {
			continue
		}
		out[k] = owner{Kind: string(ls["owner_kind"]), Name: string(ls["owner_name"])}
	}
	return out
}

var (
	deployPod = regexp.MustCompile(`^(.+)-[bcdfghjklmnpqrstvwxz2456789]{6,10}-[bcdfghjklmnpqrstvwxz2456789]{5}$`)
	stsPod    = regexp.MustCompile(`^(.+)-[0-9]+$`)
)

// guessOwner guesses a workload from a pod name: NAME-HASH-XXXXX is a
// Deployment's (the pod-template-hash and the ReplicaSet's suffix use
// Kubernetes' safe alphabet), NAME-N a StatefulSet's; anything else stands
// for itself.
func guessOwner(pod string) owner {
	if m := deployPod.FindStringSubmatch(pod); m != nil {
		return owner{Kind: "Deployment", Name: m[1], guessed: true}
	}
	if m := stsPod.FindStringSubmatch(pod); m != nil {
		return owner{Kind: "StatefulSet", Name: m[1], guessed: true}
	}
	return owner{Kind: "Pod", Name: pod, guessed: true}
}

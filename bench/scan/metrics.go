package main

import (
	"context"
	"strconv"
	"strings"

	"github.com/oomdoctor/oomdoctor/test/cluster"
)

// requestCount sums apiserver_request_total, the API server's own count of
// the requests it served, over the resources a client reads. Left out: the
// metrics scrapes themselves (no resource) and what the API server writes in
// the background (endpoints, endpointslices, leases).
// It also returns the count per verb, resource and code.
func requestCount(cp *cluster.ControlPlane) (int, map[string]int, error) {
	body, err := cp.Client.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(context.Background())
	if err != nil {
		return 0, nil, err
	}
	total := 0
	by := map[string]int{}
	for _, line := range strings.Split(string(body), "\n") {
		if !strings.HasPrefix(line, "apiserver_request_total{") {
			continue
		}
		switch label(line, "resource") {
		case "", "endpoints", "endpointslices", "leases":
			continue
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err == nil {
			total += int(v)
			by[label(line, "verb")+" "+label(line, "resource")+" "+label(line, "code")] += int(v)
		}
	}
	return total, by, nil
}

func label(line, name string) string {
	i := strings.Index(line, name+`="`)
	if i < 0 {
		return ""
	}
	rest := line[i+len(name)+2:]
	return rest[:strings.IndexByte(rest, '"')]
}

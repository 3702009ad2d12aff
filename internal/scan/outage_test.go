package scan

import (
	"context"
	"errors"
	"io"
	"net/url"
	"strings"
	"syscall"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
)

// A server that goes away is told once, however many lists and watches
// fail while it is gone, and its return once, when every informer that
// failed works again; routine ends of a watch and refusals are not
// outages (the error handler tells of refusals).
func TestOutageIsToldOnceAndItsEndOnce(t *testing.T) {
	var warns []string
	resumed := 0
	o := &outage{notify: Notify{
		Warn:    func(err error) { warns = append(warns, err.Error()) },
		Resumed: func() { resumed++ },
	}, down: map[string]bool{}}

	// errs[what] is what the next list or watch of what returns.
	errs := map[string]error{}
	lw := func(what string) *cache.ListWatch {
		return o.track(what, &cache.ListWatch{
			ListWithContextFunc: func(context.Context, metav1.ListOptions) (runtime.Object, error) {
				return nil, errs[what]
			},
			WatchFuncWithContext: func(context.Context, metav1.ListOptions) (watch.Interface, error) {
				return nil, errs[what]
			},
		})
	}
	pods, events := lw("pods"), lw("events")
	ctx := context.Background()
	list := func(l *cache.ListWatch) { _, _ = l.ListWithContextFunc(ctx, metav1.ListOptions{}) }
	watchOnce := func(l *cache.ListWatch) { _, _ = l.WatchFuncWithContext(ctx, metav1.ListOptions{}) }

	// Working lists and watches: nothing to tell.
	list(pods)
	watchOnce(events)
	// Routine ends and refusals: not an outage.
	gr := schema.GroupResource{Resource: "pods"}
	// A 410 Gone as an older server sends it.
	gone := &apierrors.StatusError{ErrStatus: metav1.Status{Status: metav1.StatusFailure, Code: 410, Reason: metav1.StatusReasonGone}}
	for _, err := range []error{io.EOF, apierrors.NewResourceExpired("too old"), gone,
		apierrors.NewForbidden(gr, "", errors.New("no")), apierrors.NewUnauthorized("who")} {
		errs["pods"] = err
		watchOnce(pods)
	}
	if len(warns) != 0 || resumed != 0 {
		t.Fatalf("no outage yet, told %q and %d resumptions", warns, resumed)
	}

	// The server goes: both informers fail, again and again.
	refusedConn := &url.Error{Op: "Get", URL: "https://127.0.0.1:6443/api/v1/pods?limit=500&resourceVersion=0", Err: syscall.ECONNREFUSED}
	errs["pods"], errs["events"] = refusedConn, refusedConn
	for range 3 {
		watchOnce(pods)
		list(events)
		list(pods)
	}
	if len(warns) != 1 || !strings.HasPrefix(warns[0], "watching pods: ") || !strings.HasSuffix(warns[0], "; retrying") ||
		strings.Contains(warns[0], "https://") || !strings.Contains(warns[0], syscall.ECONNREFUSED.Error()) {
		t.Fatalf("told %q, want one warning of the pods, without the URL", warns)
	}
	if o.lastError() != syscall.ECONNREFUSED {
		t.Errorf("last error %v, want the refused connection", o.lastError())
	}

	// Back: the pods work, the events not yet; then the events too.
	errs["pods"] = nil
	list(pods)
	watchOnce(pods)
	if resumed != 0 {
		t.Fatalf("told resumed while the events still fail")
	}
	errs["events"] = nil
	watchOnce(events)
	list(events)
	if resumed != 1 || len(warns) != 1 {
		t.Fatalf("%d resumptions and warnings %q, want 1 and 1", resumed, warns)
	}

	// A second outage is told again.
	errs["events"] = errors.New("http2: client connection lost")
	list(events)
	list(events)
	errs["events"] = nil
	list(events)
	if len(warns) != 2 || warns[1] != "watching events: http2: client connection lost; retrying" || resumed != 2 {
		t.Fatalf("second outage: warnings %q, %d resumptions", warns, resumed)
	}

	// An error after the watch is stopped is not an outage.
	done, cancel := context.WithCancel(ctx)
	cancel()
	errs["pods"] = refusedConn
	_, _ = pods.ListWithContextFunc(done, metav1.ListOptions{})
	if len(warns) != 2 {
		t.Errorf("an error after the end told %q", warns[2:])
	}
}

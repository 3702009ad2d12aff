package scan

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
)

// outage follows the watch's informers through a server that goes away
// and comes back: the first error is told (Warn), once, and the end of
// the outage too (Resumed), when every informer that failed has listed
// or watched again.
type outage struct {
	notify Notify
	mu     sync.Mutex
	// down holds what failed and has not worked since: "pods", "events".
	down map[string]bool
	last error
}

// failed records an error of what (retried by its informer).
func (o *outage) failed(what string, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	var u *url.Error
	if errors.As(err, &u) {
		err = u.Err // the request's URL is long and says nothing here
	}
	o.last = err
	if len(o.down) == 0 && o.notify.Warn != nil {
		o.notify.Warn(fmt.Errorf("watching %s: %w; retrying", what, err))
	}
	o.down[what] = true
}

// worked records that a list or a watch of what went through.
func (o *outage) worked(what string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.down[what] {
		return
	}
	delete(o.down, what)
	if len(o.down) == 0 && o.notify.Resumed != nil {
		o.notify.Resumed()
	}
}

func (o *outage) lastError() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.last
}

// track wraps a ListWatch so that each list or watch of what that fails
// (a server that cannot be reached, which the reflector retries without
// a word) starts an outage, and each that goes through ends it.
func (o *outage) track(what string, lw *cache.ListWatch) *cache.ListWatch {
	list, watchFn := lw.ListWithContextFunc, lw.WatchFuncWithContext
	saw := func(ctx context.Context, err error) {
		switch {
		case err == nil:
			o.worked(what)
		case ctx.Err() != nil || refused(err) || routine(err):
			// The watch is over, or its error handler tells of it.
		default:
			o.failed(what, err)
		}
	}
	return &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
			l, err := list(ctx, opts)
			saw(ctx, err)
			return l, err
		},
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			wi, err := watchFn(ctx, opts)
			saw(ctx, err)
			return wi, err
		},
	}
}

// refused tells of an error that a retry cannot mend: the rights to list
// or watch are missing.
func refused(err error) bool {
	return apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err)
}

// routine tells of an error after which a watch goes on at once, with no
// outage: the server closed it (EOF), or it resumed too late for the
// server's window (a restarted server), and lists again.
func routine(err error) bool {
	return errors.Is(err, io.EOF) || apierrors.IsResourceExpired(err) || apierrors.IsGone(err)
}

package scan

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/oomdoctor/oomdoctor/internal/model"
)

// ReadError is a failure to list a resource, explained for the user: which
// permission is missing, or that the server is unreachable.
type ReadError struct {
	// Resource is the resource with its group: "pods", "replicasets.apps".
	Resource string
	// Where is "in every namespace" or "in namespace X".
	Where string
	Err   error
	// Capturing is set when the read captures a snapshot: reading one
	// offline is then no way around it.
	Capturing bool
}

func (e *ReadError) Unwrap() error { return e.Err }

func (e *ReadError) Error() string {
	name, group, _ := strings.Cut(e.Resource, ".")
	var status apierrors.APIStatus
	var urlErr *url.Error
	var netErr net.Error
	switch {
	case apierrors.IsForbidden(e.Err):
		scope := "ClusterRole"
		if strings.HasPrefix(e.Where, "in namespace ") {
			scope = "Role in that namespace"
		}
		msg := fmt.Sprintf("cannot list %s %s: permission denied. Grant the verb \"list\" on %q in API group %q (a %s), or run as a user who has it.",
			name, e.Where, name, group, scope)
		if errors.As(e.Err, &status) {
			msg += " The server said: " + status.Status().Message
		}
		return msg
	case apierrors.IsUnauthorized(e.Err):
		return fmt.Sprintf("cannot list %s %s: the server did not accept the credentials (401 Unauthorized); check the user of your kubeconfig context or log in again", name, e.Where)
	case apierrors.IsTimeout(e.Err) || apierrors.IsServerTimeout(e.Err) || errors.As(e.Err, &netErr) && netErr.Timeout():
		return fmt.Sprintf("listing %s %s timed out: %v. Raise --request-timeout or narrow the scope with -n", name, e.Where, e.Err)
	case errors.As(e.Err, &urlErr):
		msg := fmt.Sprintf("cannot reach the API server to list %s: %v. Check that the cluster is up and --kubeconfig/--context point at it", name, e.Err)
		if !e.Capturing {
			msg += ", or scan a snapshot offline with --snapshot"
		}
		return msg
	}
	return fmt.Sprintf("cannot list %s %s: %v", name, e.Where, e.Err)
}

// readWarning turns a failure to read an optional source into a warning that
// says what the report is missing because of it.
func readWarning(resource, where string, err error, consequence string) model.Warning {
	msg := (&ReadError{Resource: resource, Where: where, Err: err}).Error()
	msg = strings.TrimSuffix(msg, ".") + "; " + consequence + "."
	return model.Warning{Source: resource, Message: msg}
}

// Where says where a list reads: "in every namespace" or "in namespace X".
func Where(namespace string) string {
	if namespace == "" {
		return "in every namespace"
	}
	return "in namespace " + namespace
}

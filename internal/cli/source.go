package cli

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/oomdoctor/oomdoctor/internal/source"
	"github.com/oomdoctor/oomdoctor/internal/source/kube"
	"github.com/oomdoctor/oomdoctor/internal/source/snapshot"
)

// clusterFlags are the kubeconfig flags that make no sense with --snapshot.
var clusterFlags = []string{"kubeconfig", "context", "cluster", "user", "server", "token"}

// openCluster connects to the cluster the kubeconfig flags name. A missing or
// broken kubeconfig is a usage error that names the file and the problem.
func openCluster(flags *genericclioptions.ConfigFlags, chunkSize int64) (*kube.Source, error) {
	return openClusterHint(flags, chunkSize, ", or read a snapshot with --snapshot")
}

// openClusterHint is openCluster for a command whose way around a missing
// cluster is offline (empty: none, as for snapshot itself).
func openClusterHint(flags *genericclioptions.ConfigFlags, chunkSize int64, offline string) (*kube.Source, error) {
	cfg, err := restConfig(flags, offline)
	if err != nil {
		return nil, asUsage(err)
	}
	ctxName := ""
	if raw, err := flags.ToRawKubeConfigLoader().RawConfig(); err == nil {
		ctxName = raw.CurrentContext
		if flags.Context != nil && *flags.Context != "" {
			ctxName = *flags.Context
		}
	}
	src, err := kube.New(cfg, kube.Options{Context: ctxName, ChunkSize: chunkSize})
	if err != nil {
		return nil, asUsage(err)
	}
	return src, nil
}

// restConfig is the client configuration of the kubeconfig flags, or an
// error that says what to do: offline is how to go on without a cluster
// (", or read a snapshot with --snapshot"), empty when there is no way.
func restConfig(flags *genericclioptions.ConfigFlags, offline string) (*rest.Config, error) {
	// With no kubeconfig, no --server and no service account, client-go
	// falls back to http://localhost:8080, whose refusal tells nothing.
	if raw, err := flags.ToRawKubeConfigLoader().RawConfig(); err == nil && len(raw.Clusters) == 0 &&
		(flags.APIServer == nil || *flags.APIServer == "") {
		if _, icErr := rest.InClusterConfig(); icErr != nil {
			return nil, explainKubeconfig(flags, clientcmd.ErrEmptyConfig, offline)
		}
	}
	cfg, err := flags.ToRESTConfig()
	if err != nil {
		return nil, explainKubeconfig(flags, err, offline)
	}
	return cfg, nil
}

func explainKubeconfig(flags *genericclioptions.ConfigFlags, err error, offline string) error {
	file := ""
	if flags.KubeConfig != nil && *flags.KubeConfig != "" {
		file = *flags.KubeConfig
	} else if env := os.Getenv(clientcmd.RecommendedConfigPathEnvVar); env != "" {
		file = env
	} else {
		file = clientcmd.RecommendedHomeFile
	}
	if clientcmd.IsEmptyConfig(err) || errors.Is(err, clientcmd.ErrEmptyConfig) {
		return fmt.Errorf("no cluster configured (no cluster in %s, no --server, not in a pod with a service account): pass --kubeconfig or set KUBECONFIG%s", file, offline)
	}
	return fmt.Errorf("invalid kubeconfig %s: %w", file, err)
}

// openSnapshot loads a snapshot; a file that does not decode is a usage error
// naming the file and position.
func openSnapshot(path string) (*snapshot.Snapshot, error) {
	s, err := snapshot.Load(path)
	if err != nil {
		return nil, asUsage(err)
	}
	return s, nil
}

// unreachable adds what to do to an error of a request that never had an
// answer from the API server (refused, no route, a bad certificate).
func unreachable(err error, server string) error {
	var status apierrors.APIStatus
	var urlErr *url.Error
	if err == nil || errors.As(err, &status) || !errors.As(err, &urlErr) {
		return err
	}
	return fmt.Errorf("cannot reach the API server %s: %w. Check that the cluster is up and --kubeconfig/--context point at it, or read a snapshot offline with --snapshot", server, err)
}

// openSource opens the snapshot when one is named, else the cluster; live
// is the cluster (nil for a snapshot), for naming its server in errors.
func openSource(snap string, flags *genericclioptions.ConfigFlags, chunkSize int64) (src source.Source, live *kube.Source, err error) {
	if snap != "" {
		s, err := openSnapshot(snap)
		if err != nil {
			return nil, nil, err
		}
		return s, nil, nil
	}
	s, err := openCluster(flags, chunkSize)
	if err != nil {
		return nil, nil, err
	}
	return s, s, nil
}

// kubeFlags are the kubeconfig flags the user gave that choose the
// cluster (" --kubeconfig FILE --context NAME"), for the commands a
// report suggests: run as shown, they act on the cluster read, not on
// the current context's. Empty for a snapshot.
func kubeFlags(flags *genericclioptions.ConfigFlags, live bool) string {
	if !live || flags == nil {
		return ""
	}
	var out string
	for _, f := range []struct {
		name string
		v    *string
	}{{"kubeconfig", flags.KubeConfig}, {"context", flags.Context}, {"cluster", flags.ClusterName}, {"server", flags.APIServer}} {
		if f.v != nil && *f.v != "" {
			out += " --" + f.name + " " + shellQuote(*f.v)
		}
	}
	return out
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=@,+") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

package cli

import (
	"errors"
	"fmt"
	"os"

	"k8s.io/cli-runtime/pkg/genericclioptions"
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
	cfg, err := flags.ToRESTConfig()
	if err != nil {
		return nil, asUsage(explainKubeconfig(flags, err))
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

func explainKubeconfig(flags *genericclioptions.ConfigFlags, err error) error {
	file := ""
	if flags.KubeConfig != nil && *flags.KubeConfig != "" {
		file = *flags.KubeConfig
	} else if env := os.Getenv(clientcmd.RecommendedConfigPathEnvVar); env != "" {
		file = env
	} else {
		file = clientcmd.RecommendedHomeFile
	}
	if clientcmd.IsEmptyConfig(err) || errors.Is(err, clientcmd.ErrEmptyConfig) {
		return fmt.Errorf("no cluster configured (looked at %s and in-cluster service account): pass --kubeconfig, set KUBECONFIG, or scan a snapshot with --snapshot", file)
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

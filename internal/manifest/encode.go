package manifest

import (
	"bytes"

	yaml "go.yaml.in/yaml/v3"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
)

// Encode writes a new document (a patch fix writes) as manifests are
// written: two spaces, and lists indented as the text like (the file the
// document goes with) indents them, under their key or level with it.
func Encode(root *yaml.Node, like []byte) ([]byte, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if kyaml.DeriveSeqIndentStyle(string(like)) == string(kyaml.CompactSequenceStyle) {
		enc.CompactSeqIndent()
	}
	if err := enc.Encode(root); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

package main

import "sigs.k8s.io/yaml"

func yamlOf(v any) ([]byte, error) { return yaml.Marshal(v) }

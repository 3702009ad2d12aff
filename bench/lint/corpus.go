package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
)

// deployment is a Deployment as Helm charts render them: labels,
// annotations, probes, env, volumes; every tenth one breaks a rule.
const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: svc-%[1]d
  namespace: team-%[2]d
  labels:
    app.kubernetes.io/name: svc-%[1]d
    app.kubernetes.io/instance: release-%[2]d
    app.kubernetes.io/managed-by: Helm
    helm.sh/chart: svc-1.4.2
  annotations:
    meta.helm.sh/release-name: release-%[2]d
spec:
  replicas: 3
  revisionHistoryLimit: 5
  selector:
    matchLabels:
      app.kubernetes.io/name: svc-%[1]d
  template:
    metadata:
      labels:
        app.kubernetes.io/name: svc-%[1]d
      annotations:
        prometheus.io/scrape: "true"
    spec:
      serviceAccountName: svc-%[1]d
      securityContext:
        runAsNonRoot: true
      containers:
        - name: app
          image: "registry.example/team-%[2]d/svc:2.%[1]d.0"
          imagePullPolicy: IfNotPresent
          args: ["--port=8080", "--log-format=json"]
          ports:
            - name: http
              containerPort: 8080
          env:
            - name: JAVA_TOOL_OPTIONS
              value: "-XX:+UseG1GC -Xmx%[3]dm"
            - name: POD_NAME
              valueFrom:
                fieldRef:
                  fieldPath: metadata.name
          livenessProbe:
            httpGet: {path: /healthz, port: http}
          readinessProbe:
            httpGet: {path: /ready, port: http}
          resources:
            requests:
              cpu: 100m
              memory: 512Mi
            limits:
              memory: 1Gi
          volumeMounts:
            - name: tmp
              mountPath: /tmp
      volumes:
        - name: tmp
          emptyDir: {}
`

// writeCorpus writes n Deployments to one file and to one file each in
// dir; it returns the size of the one file.
func writeCorpus(one, dir string, n int) (int64, error) {
	f, err := os.Create(one)
	if err != nil {
		return 0, err
	}
	w := bufio.NewWriter(f)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, err
	}
	for i := 0; i < n; i++ {
		heap := 512
		if i%10 == 0 {
			heap = 1536 // over the 1Gi limit
		}
		doc := fmt.Sprintf(deployment, i, i%200, heap)
		fmt.Fprint(w, "---\n"+doc)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("svc-%05d.yaml", i)), []byte(doc), 0o644); err != nil {
			return 0, err
		}
	}
	if err := w.Flush(); err != nil {
		return 0, err
	}
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return st.Size(), f.Close()
}

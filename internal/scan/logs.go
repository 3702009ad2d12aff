package scan

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/oomdoctor/oomdoctor/internal/detect"
	"github.com/oomdoctor/oomdoctor/internal/model"
	"github.com/oomdoctor/oomdoctor/internal/runtimes"
	"github.com/oomdoctor/oomdoctor/internal/words"
	"github.com/oomdoctor/oomdoctor/internal/workload"
)

// LogFunc reads the end of a container's log: of its previous run
// (kubectl logs --previous) or of its current one. It returns "" and no
// error for a container it is not asked to read (explain reads only its
// target's).
type LogFunc func(ctx context.Context, r LogRequest) (string, error)

// LogRequest names the log to read.
type LogRequest struct {
	Namespace, Pod, Container string
	// Previous asks for the container's previous run.
	Previous bool
	// Lines is how many of the log's last lines to read, at most Bytes
	// from the first of them.
	Lines, Bytes int64
	// Workload owns the pod.
	Workload model.WorkloadRef
}

// logReaders is how many logs are read at once.
const logReaders = 4

// What is read of a log: its last LogLines lines, enough for a JVM's or
// V8's error and the stack under it. A Go program's fatal error comes
// before the stacks of all its goroutines (110 lines for a program of
// three, thousands for a server): a tail that is a Go traceback is read
// again, TracebackLines back.
const (
	LogLines       = 200
	LogBytes       = 256 << 10
	TracebackLines = 20000
	TracebackBytes = 8 << 20
)

// goTraceback tells whether a log's end is a Go program's crash: the
// stacks of its goroutines.
var goTraceback = regexp.MustCompile(`(?m)^goroutine \d+ (gp=0x[0-9a-f]+ m=\S+ (mp=0x[0-9a-f]+ )?)?\[[^\]]*\]:$`)

// logTarget is a container whose last run ended in an error its status
// does not explain (detect.LogTargets), kept until the logs are read.
type logTarget struct {
	pod        *corev1.Pod
	target     detect.LogTarget
	controller *metav1.OwnerReference
}

// noteLogTargets keeps the pod's containers whose logs may show a
// runtime's out-of-memory error, when logs are read.
func (s *scanner) noteLogTargets(pod *corev1.Pod, controller *metav1.OwnerReference) {
	if s.opts.Logs == nil {
		return
	}
	targets := detect.LogTargets(pod)
	if len(targets) == 0 {
		return
	}
	kept := pod.DeepCopy()
	for _, t := range targets {
		s.logTargets = append(s.logTargets, logTarget{pod: kept, target: t, controller: controller})
	}
}

// readLogs reads the logs of the containers noted and adds a runtime-oom
// finding for each whose log shows the runtime's out-of-memory error. Logs
// that cannot be read become one warning.
func (s *scanner) readLogs(ctx context.Context, r *workload.Resolver) {
	if len(s.logTargets) == 0 {
		return
	}
	logs := make([]string, len(s.logTargets))
	errs := make([]error, len(s.logTargets))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(logReaders, len(s.logTargets)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				t := s.logTargets[i]
				req := LogRequest{Namespace: t.pod.Namespace, Pod: t.pod.Name, Container: t.target.Container, Previous: t.target.Previous,
					Lines: LogLines, Bytes: LogBytes, Workload: r.Resolve(t.pod.Namespace, t.pod.Name, t.controller)}
				logs[i], errs[i] = s.opts.Logs(ctx, req)
				if _, found := runtimes.FindOutOfMemory(logs[i]); errs[i] == nil && !found && goTraceback.MatchString(logs[i]) {
					req.Lines, req.Bytes = TracebackLines, TracebackBytes
					logs[i], errs[i] = s.opts.Logs(ctx, req)
				}
			}
		}()
	}
	for i := range s.logTargets {
		next <- i
	}
	close(next)
	wg.Wait()
	var failed int
	var first error
	for i, t := range s.logTargets {
		if errs[i] != nil {
			if failed++; first == nil {
				first = errs[i]
			}
			continue
		}
		if f, ok := detect.LogFinding(t.pod, t.target.Container, logs[i]); ok {
			s.notePodSpec(t.pod)
			s.add(f, t.controller)
		}
	}
	if failed > 0 {
		s.warnings = append(s.warnings, logWarning(failed, len(s.logTargets), first))
	}
	s.logTargets = nil
}

// logWarning says which logs could not be read and what the report lacks.
func logWarning(failed, of int, err error) model.Warning {
	msg := fmt.Sprintf("cannot read the logs of %s of %d that exited with an error: %v", words.Count(failed, "container"), of, err)
	if apierrors.IsForbidden(err) {
		var status apierrors.APIStatus
		msg = fmt.Sprintf("cannot read the logs of %s of %d that exited with an error: permission denied. Grant the verb \"get\" on \"pods/log\" in API group \"\"", words.Count(failed, "container"), of)
		if errors.As(err, &status) {
			msg += ". The server said: " + status.Status().Message
		}
	}
	return model.Warning{Source: "pods/log", Message: msg + "; out-of-memory errors of their runtimes (runtime-oom) that only their logs show are missing."}
}

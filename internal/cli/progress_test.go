package cli

import (
	"bytes"
	"context"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// scanWithStderr runs scan on the example with stderr going to errOut.
func scanWithStderr(t *testing.T, errOut io.Writer) {
	t.Helper()
	var out bytes.Buffer
	root := newRootCommand(genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: errOut}, "oomdoctor", func() time.Time { return fixedNow })
	root.SetArgs([]string{"scan", "--snapshot", exampleSnapshot, "-o", "json"})
	if err := root.ExecuteContext(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"kind": "ScanReport"`) {
		t.Error("stdout must hold the report alone")
	}
}

func TestProgressOnlyOnATerminal(t *testing.T) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatalf("opening a pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	scanWithStderr(t, tty)
	tty.Close()
	seen, _ := io.ReadAll(ptmx) // ends with EIO once the tty side is closed
	if !strings.Contains(string(seen), "reading pods: 16") || !strings.Contains(string(seen), "\r\033[K") {
		t.Errorf("no progress on a terminal: %q", seen)
	}

	// A pipe or file is not a terminal: no progress, only the messages.
	f, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	scanWithStderr(t, f)
	f.Close()
	data, _ := os.ReadFile(f.Name())
	if strings.Contains(string(data), "reading") || strings.Contains(string(data), "\r") {
		t.Errorf("progress written to a file: %q", data)
	}
}

// fix --chart says how far the trace has come, on a terminal.
func TestChartTraceProgressOnATerminal(t *testing.T) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatalf("opening a pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	var out bytes.Buffer
	root := newRootCommand(genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: tty}, "oomdoctor", func() time.Time { return fixedNow })
	root.SetArgs([]string{"fix", "--chart", shopChart, "--release", "prod", "deployment/prod-shop-api", "-c", "api", "--memory-limit", "768Mi"})
	if err := root.ExecuteContext(context.Background()); err != nil {
		t.Fatal(err)
	}
	tty.Close()
	seen, _ := io.ReadAll(ptmx)
	if !strings.Contains(string(seen), "\r\033[Ktracing the changes to the chart's values: 0 found, 1 left") || !strings.Contains(out.String(), "+      memory: 768Mi") {
		t.Errorf("no trace progress on a terminal: %q\n%s", seen, out.String())
	}
}

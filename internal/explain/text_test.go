package explain

import (
	"bytes"
	"strings"
	"testing"
)

// A fix with a chart command says where it goes, in text and in HTML.
func TestChartCommandShown(t *testing.T) {
	e := sample()
	causes := e.Items[0].Finding.Causes
	if len(causes) == 0 {
		t.Fatal("the sample has no cause")
	}
	const cmd = "oomdoctor fix --chart CHART --values VALUES --release shop -n shop deployment/cart -c cart --memory-limit 512Mi"
	causes[0].Fix.ChartCommand = cmd
	var text, html bytes.Buffer
	if err := WriteText(&text, e); err != nil {
		t.Fatal(err)
	}
	if want := "in the Helm chart's values (the next helm upgrade undoes a change made on the cluster):\n            " + cmd + "\n"; !strings.Contains(text.String(), want) {
		t.Errorf("text lacks %q:\n%s", want, text.String())
	}
	if err := WriteHTML(&html, e); err != nil {
		t.Fatal(err)
	}
	if want := "undoes a change made on the cluster): <code>" + cmd + "</code>"; !strings.Contains(html.String(), want) {
		t.Errorf("html lacks %q", want)
	}
}

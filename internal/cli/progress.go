package cli

import (
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/term"
)

// progress shows how far a long listing has come on stderr, on one line
// rewritten in place, and only when stderr is a terminal: logs and pipes get
// nothing.
type progress struct {
	w       io.Writer
	last    time.Time
	printed bool
}

// newProgress returns nil (no progress) unless w is a terminal.
func newProgress(w io.Writer) *progress {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	return &progress{w: w}
}

// Update reports n objects of a kind read so far, at most ten times a second.
func (p *progress) Update(what string, n int) {
	if p == nil || time.Since(p.last) < 100*time.Millisecond {
		return
	}
	p.last = time.Now()
	p.printed = true
	fmt.Fprintf(p.w, "\r\033[Kreading %s: %d", what, n)
}

// Say shows a line of its own (tracing 3 of 40 changes), at most ten
// times a second.
func (p *progress) Say(line string) {
	if p == nil || time.Since(p.last) < 100*time.Millisecond {
		return
	}
	p.last = time.Now()
	p.printed = true
	fmt.Fprintf(p.w, "\r\033[K%s", line)
}

// Done clears the progress line.
func (p *progress) Done() {
	if p != nil && p.printed {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

// func returns Update as a callback, nil when there is no terminal.
func (p *progress) callback() func(string, int) {
	if p == nil {
		return nil
	}
	return p.Update
}

// namespaces reports the namespaces whose history was read from Prometheus;
// nil (no reports) when there is no bar.
func (p *progress) namespaces() func(done, total int) {
	if p == nil {
		return nil
	}
	return func(done, total int) {
		p.Update(fmt.Sprintf("history from Prometheus, namespaces of %d", total), done)
	}
}

// counts reports two counts (found so far, left) in format's line; nil
// (no reports) when there is no bar.
func (p *progress) counts(format string) func(done, left int) {
	if p == nil {
		return nil
	}
	return func(done, left int) { p.Say(fmt.Sprintf(format, done, left)) }
}

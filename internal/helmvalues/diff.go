package helmvalues

import "github.com/oomdoctor/oomdoctor/internal/renderdiff"

func parseRender(ts []Template) (renderdiff.Docs, error) {
	out := renderdiff.Docs{}
	for _, t := range ts {
		if err := out.Add(t.Name, t.Text); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// volatileFields finds the fields of the render that differ from one
// render to the next with the same values (a password made up with
// randAlphaNum, a certificate from genCA), once: first is a render of the
// values given, and one more is made to compare. They are left out of
// every comparison.
func (c *Chart) volatileFields(first renderdiff.Docs) error {
	if c.volatile != nil {
		return nil
	}
	again, err := c.renderDocs(c.user)
	if err != nil {
		return err
	}
	c.volatile = map[string]bool{}
	for _, d := range renderdiff.Diff(first, again) {
		c.volatile[d.Key()] = true
	}
	return nil
}

// diff is diffRenders without the volatile fields (volatileFields must
// have been called).
func (c *Chart) diff(got, want renderdiff.Docs) []renderdiff.Difference {
	ds := renderdiff.Diff(got, want)
	if len(c.volatile) == 0 {
		return ds
	}
	out := ds[:0]
	for _, d := range ds {
		if !c.volatile[d.Key()] {
			out = append(out, d)
		}
	}
	return out
}

package diagnose

import (
	"strings"
	"testing"

	"github.com/oomdoctor/oomdoctor/internal/model"
)

// A VPA that sets the memory turns the sizing causes' fix to it; other
// causes, and containers no VPA sizes, are left alone.
func TestSizedBy(t *testing.T) {
	const by = "VerticalPodAutoscaler shop/search (updateMode Auto) sets its memory requests and limits"
	causes := func() []model.Cause {
		return []model.Cause{
			{ID: model.CauseLimitTooLow, Fix: model.Fix{Text: "Raise the limit."}},
			{ID: model.CauseMemoryLeak, Fix: model.Fix{Text: "Find the leak."}},
			{ID: model.CauseRequestLimitGap, Fix: model.Fix{Text: "Raise the request."}},
		}
	}
	cs := causes()
	sizedBy(&Input{MemorySetBy: by}, cs)
	for _, c := range cs {
		sizing := c.ID != model.CauseMemoryLeak
		says := strings.Contains(c.Fix.Text, "The pods' memory is not the workload's to set: "+by+" in every new pod, so raise its minAllowed memory")
		has := len(c.Evidence) == 1 && c.Evidence[0].Value == by
		if says != sizing || has != sizing {
			t.Errorf("%s: fix %q, evidence %+v", c.ID, c.Fix.Text, c.Evidence)
		}
	}
	cs = causes()
	sizedBy(&Input{}, cs)
	for i, c := range cs {
		if c.Fix.Text != causes()[i].Fix.Text || len(c.Evidence) != 0 {
			t.Errorf("no VPA: %s changed: %+v", c.ID, c)
		}
	}
}

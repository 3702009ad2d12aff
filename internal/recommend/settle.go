package recommend

// MinChange is the smallest relative change worth making by default: a
// new value within 10% of the one the container has keeps the old one,
// since every change rolls the pods and a change that small is inside
// the estimate's own noise.
const MinChange = 0.10

// Settle says what to set, given the value the container has (cur; 0 when
// unknown) and the recommendation rec: cur when rec is within minChange of
// it, rec otherwise. When rise is set (the container was killed at cur)
// any rec above cur is set: a kill is never answered by keeping the limit.
// kept says whether cur was kept.
func Settle(cur, rec, minChange float64, rise bool) (v float64, kept bool) {
	switch {
	case cur <= 0 || minChange <= 0 || rec == cur:
		return rec, false
	case rise && rec > cur:
		return rec, false
	case rec >= cur*(1-minChange) && rec <= cur*(1+minChange):
		return cur, true
	}
	return rec, false
}

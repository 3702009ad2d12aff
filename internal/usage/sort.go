package usage

import "sort"

func sortByTime(s []Sample) {
	sort.SliceStable(s, func(i, j int) bool { return s[i].T < s[j].T })
}

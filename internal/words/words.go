// Package words writes counts the way people read them: "1 OOM kill",
// "3 OOM kills", never "3 OOM kill(s)".
package words

import "strconv"

// Count is n and the noun one, made plural by an s when n is not 1:
// Count(1, "restart") is "1 restart", Count(0, "restart") "0 restarts".
func Count[N ~int | ~int32 | ~int64](n N, one string) string {
	return CountOf(n, one, one+"s")
}

// CountOf is Count for a noun whose plural is not one+"s".
func CountOf[N ~int | ~int32 | ~int64](n N, one, many string) string {
	s := strconv.FormatInt(int64(n), 10) + " "
	if n == 1 {
		return s + one
	}
	return s + many
}

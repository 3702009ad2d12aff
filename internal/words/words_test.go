package words

import "testing"

func TestCount(t *testing.T) {
	for _, tc := range []struct {
		got, want string
	}{
		{Count(0, "OOM kill"), "0 OOM kills"},
		{Count(1, "OOM kill"), "1 OOM kill"},
		{Count(int64(2), "restart"), "2 restarts"},
		{Count(int32(-1), "day"), "-1 days"},
		{CountOf(1, "growing lifetime", "growing lifetimes"), "1 growing lifetime"},
		{CountOf(3, "six-hour peak", "six-hour peaks"), "3 six-hour peaks"},
		{CountOf(2, "process", "processes"), "2 processes"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

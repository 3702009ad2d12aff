package helmvalues

import (
	"strconv"

	"github.com/oomdoctor/oomdoctor/internal/renderdiff"
)

// numberCandidates are the number values a template writes into the words
// of the field that change, set to the number that writes the new words.
func numberCandidates(coal map[string]any, pairs [][2]string) [][]Assignment {
	var out [][]Assignment
	for _, p := range pairs {
		on, nn, ok := renderdiff.NumberFor(p[0], p[1])
		if !ok {
			continue
		}
		want, err := strconv.ParseFloat(on, 64)
		if err != nil {
			continue
		}
		walkValues(coal, nil, func(path []any, v any) {
			var got float64
			switch x := v.(type) {
			case int:
				got = float64(x)
			case int64:
				got = float64(x)
			case float64:
				got = x
			default:
				return
			}
			if got == want {
				out = append(out, []Assignment{{Path: path, To: nn, value: typedLike(v, nn)}})
			}
		})
	}
	return out
}

// typedLike is text as a value of v's type: a number stays a number in the
// values, as the editor keeps it one in the file.
func typedLike(v any, text string) any {
	switch v.(type) {
	case int, int64:
		if n, err := strconv.ParseInt(text, 10, 64); err == nil {
			return int(n)
		}
	case float64:
		if f, err := strconv.ParseFloat(text, 64); err == nil {
			return f
		}
	}
	return text
}

package report

import (
	"encoding/json"
	"io"

	"github.com/oomdoctor/oomdoctor/internal/model"
)

func init() {
	register("json", func(w io.Writer, rep *model.ScanReport) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	})
}

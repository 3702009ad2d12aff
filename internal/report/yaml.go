package report

import (
	"io"

	"sigs.k8s.io/yaml"

	"github.com/oomdoctor/oomdoctor/internal/model"
)

func init() {
	register("yaml", func(w io.Writer, rep *model.ScanReport) error {
		data, err := yaml.Marshal(rep)
		if err != nil {
			return err
		}
		_, err = w.Write(data)
		return err
	})
}

package model

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

// undocumented lists the JSON fields of root (and of the structs of this
// package it holds) that the document never names as `field` or
// `parent.field`.
func undocumented(t *testing.T, docPath string, root reflect.Type) []string {
	t.Helper()
	raw, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	seen := map[reflect.Type]bool{}
	var missing []string
	var walk func(reflect.Type, string)
	walk = func(typ reflect.Type, path string) {
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice || typ.Kind() == reflect.Map {
			typ = typ.Elem()
		}
		if typ.Kind() != reflect.Struct || typ.PkgPath() != root.PkgPath() || seen[typ] {
			return
		}
		seen[typ] = true
		for i := 0; i < typ.NumField(); i++ {
			f := typ.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" || name == "-" {
				missing = append(missing, typ.Name()+"."+f.Name+" (no JSON name)")
				continue
			}
			if !strings.Contains(doc, "`"+name+"`") && !strings.Contains(doc, "."+name+"`") {
				missing = append(missing, path+name)
			}
			walk(f.Type, path+name+".")
		}
	}
	walk(root, "")
	return missing
}

// The machine-readable documents are documented field by field.
func TestReportFieldsAreDocumented(t *testing.T) {
	for _, tc := range []struct {
		doc  string
		root reflect.Type
	}{
		{"../../docs/scan-report.md", reflect.TypeOf(ScanReport{})},
		{"../../docs/lint.md", reflect.TypeOf(LintReport{})},
		{"../../docs/recommendations.md", reflect.TypeOf(Recommendations{})},
		{"../../docs/apply-report.md", reflect.TypeOf(ApplyReport{})},
	} {
		for _, f := range undocumented(t, tc.doc, tc.root) {
			t.Errorf("%s field %s is not documented in %s", tc.root.Name(), f, tc.doc)
		}
	}
	doc, _ := os.ReadFile("../../docs/scan-report.md")
	for _, ft := range FindingTypes {
		if !strings.Contains(string(doc), "| `"+string(ft)+"` |") {
			t.Errorf("finding type %s is not documented", ft)
		}
	}
}

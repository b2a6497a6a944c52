package webassets

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// LangIndex is the path of the UI languages' list that New adds to the
// app's files. It exists so that adding a UI language is adding one
// catalog, i18n/<code>.json: the browser cannot list a folder, and a list
// kept by hand beside the catalogs is one more place to forget.
const LangIndex = "i18n/index.json"

// catalogName matches a catalog's path: i18n/ and a language tag.
var catalogName = regexp.MustCompile(`^i18n/([a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*)\.json$`)

// Lang is one entry of LangIndex, read from the catalog's _meta entries.
type Lang struct {
	Code string `json:"code"`
	// Name is the language's name in itself ("_meta.name").
	Name string `json:"name"`
	// Reviewed says whether a person has read the catalog through
	// ("_meta.reviewed"); the language picker marks one that is not.
	Reviewed bool `json:"reviewed"`
}

// langIndex builds LangIndex from the catalogs among files, or returns
// nil when there are none. A catalog that is not JSON, or whose _meta
// entries are missing or of the wrong type, is an error: the server would
// otherwise offer a language it cannot show.
func langIndex(files map[string][]byte) ([]byte, error) {
	var langs []Lang
	for p, b := range files {
		m := catalogName.FindStringSubmatch(p)
		if m == nil || p == LangIndex {
			continue
		}
		var meta struct {
			Name     *string `json:"_meta.name"`
			Reviewed *bool   `json:"_meta.reviewed"`
		}
		if err := json.Unmarshal(b, &meta); err != nil {
			return nil, fmt.Errorf("webassets: catalog %s: %w", p, err)
		}
		if meta.Name == nil || *meta.Name == "" || meta.Reviewed == nil {
			return nil, fmt.Errorf("webassets: catalog %s needs \"_meta.name\" (a string) and \"_meta.reviewed\" (true or false)", p)
		}
		langs = append(langs, Lang{Code: m[1], Name: *meta.Name, Reviewed: *meta.Reviewed})
	}
	if len(langs) == 0 {
		return nil, nil
	}
	slices.SortFunc(langs, func(a, b Lang) int { return strings.Compare(a.Code, b.Code) })
	return json.Marshal(langs)
}

// Package docs holds the documents Latchkey serves about itself: the
// OpenAPI 3.1 description of its HTTP API, written as openapi.yaml in this
// directory and served as JSON at /openapi.json.
package docs

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"
	"sync"

	"go.yaml.in/yaml/v4"
)

//go:embed openapi.yaml
var openAPIYAML []byte

// OpenAPIYAML returns the OpenAPI document as written.
func OpenAPIYAML() []byte { return slices.Clone(openAPIYAML) }

// OpenAPIJSON returns the OpenAPI document as JSON. The conversion runs
// once; a document that does not convert is a build defect, which the
// package's tests catch.
func OpenAPIJSON() ([]byte, error) {
	doc, err := openAPIJSON()
	return slices.Clone(doc), err
}

var openAPIJSON = sync.OnceValues(func() ([]byte, error) {
	return yamlToJSON(openAPIYAML)
})

// yamlToJSON converts a YAML document to JSON. Mapping keys become strings,
// so that an unquoted status code such as 200 stays a JSON object key.
func yamlToJSON(in []byte) ([]byte, error) {
	var v any
	if err := yaml.Unmarshal(in, &v); err != nil {
		return nil, fmt.Errorf("docs: parse YAML: %w", err)
	}
	v, err := jsonValue(v)
	if err != nil {
		return nil, err
	}
	out, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("docs: encode JSON: %w", err)
	}
	return out, nil
}

func jsonValue(v any) (any, error) {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			c, err := jsonValue(e)
			if err != nil {
				return nil, err
			}
			t[k] = c
		}
		return t, nil
	case map[any]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			switch k.(type) {
			case string, int, int64, uint64, bool:
			default:
				return nil, fmt.Errorf("docs: mapping key %v of type %T", k, k)
			}
			c, err := jsonValue(e)
			if err != nil {
				return nil, err
			}
			m[fmt.Sprint(k)] = c
		}
		return m, nil
	case []any:
		for i, e := range t {
			c, err := jsonValue(e)
			if err != nil {
				return nil, err
			}
			t[i] = c
		}
		return t, nil
	}
	return v, nil
}

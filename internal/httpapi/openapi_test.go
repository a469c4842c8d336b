package httpapi

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/latchkey/latchkey/docs"
)

// TestOpenAPIListsEveryErrorCode keeps the document's ErrorCode schema equal
// to the codes the API can answer with.
func TestOpenAPIListsEveryErrorCode(t *testing.T) {
	t.Parallel()
	raw, err := docs.OpenAPIJSON()
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Components struct {
			Schemas struct {
				ErrorCode struct {
					Enum []string `json:"enum"`
				} `json:"ErrorCode"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	documented := doc.Components.Schemas.ErrorCode.Enum
	for code := range statusOf {
		if !slices.Contains(documented, code) {
			t.Errorf("error code %s (status %d) is not in the ErrorCode schema of "+
				"docs/openapi.yaml", code, statusOf[code])
		}
	}
	for _, code := range documented {
		if _, ok := statusOf[code]; !ok {
			t.Errorf("docs/openapi.yaml lists error code %s, which the API never answers", code)
		}
	}
}

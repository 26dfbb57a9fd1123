package dynamo

import (
	"encoding/json"
	"testing"

	"github.com/mineral-contest/spawner/internal/spawner"
)

func TestValueRoundTrips(t *testing.T) {
	for _, wire := range []string{
		`{"S":"a \"quoted\" é"}`, `{"N":"1.7e12"}`, `{"BOOL":true}`, `{"NULL":true}`,
		`{"L":[{"S":"1"}]}`, `{"M":{"k":{"N":"2"}}}`, `{"SS":["a","b"]}`, `{"B":"AAE="}`,
	} {
		var v value
		if err := json.Unmarshal([]byte(wire), &v); err != nil {
			t.Fatalf("decode %s: %v", wire, err)
		}
		out, err := json.Marshal(v)
		if err != nil || string(out) != wire {
			t.Errorf("%s came back as %s (%v)", wire, out, err)
		}
	}
	var v value
	if err := json.Unmarshal([]byte(`{"S":"a","N":"1"}`), &v); err != nil || v.attr() != (spawner.Attr{}) {
		t.Errorf("a value of two types read as %+v (%v), want no kind", v, err)
	}
}

func TestScanPageHandsItemsOneByOne(t *testing.T) {
	var keys []string
	page := scanPage{each: func(it item) { keys = append(keys, it["taskId"].text) }}
	doc := `{"Count": 2, "Items": [{"taskId": {"S": "a"}}, {"taskId": {"S": "b"}, "port": {"N": "1"}}],
		"LastEvaluatedKey": {"taskId": {"S": "b"}}, "ScannedCount": 2}`
	if err := json.Unmarshal([]byte(doc), &page); err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || keys[0] != "a" || keys[1] != "b" || page.LastEvaluatedKey["taskId"] != str("b") {
		t.Errorf("items %v, last key %+v", keys, page.LastEvaluatedKey)
	}
	for _, bad := range []string{`[]`, `{"Items": {}}`, `{"Items": [1]}`, `{"Items": [`} {
		if err := json.Unmarshal([]byte(bad), &scanPage{each: func(item) {}}); err == nil {
			t.Errorf("%s decoded", bad)
		}
	}
	if err := json.Unmarshal([]byte(`{"Items": null}`), &scanPage{each: func(item) { t.Error("an item from null") }}); err != nil {
		t.Errorf("null items: %v", err)
	}
}

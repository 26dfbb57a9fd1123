package bolt

import (
	"encoding/json"
	"errors"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// A record is stored as a JSON object whose keys are the record's
// attribute names, exactly the dynamo table's: a string attribute is a
// JSON string, a number a JSON number, a boolean a JSON boolean. What the
// record holds and when it is malformed is spawner.Record's to say.

// jsonOf is the JSON object of rec.
func jsonOf(rec spawner.Record) ([]byte, error) {
	obj := make(map[string]any, len(rec))
	for name, a := range rec {
		switch a.Kind {
		case spawner.AttrString:
			obj[name] = a.Text
		case spawner.AttrNumber:
			obj[name] = json.Number(a.Text)
		case spawner.AttrBool:
			obj[name] = a.Bool
		default:
			// A record is made of the three kinds above; the others are
			// only read back, to be named in a problem (spawner.AttrKind).
		}
	}
	return json.Marshal(obj)
}

// errNotObject is the problem of a stored value that is not a JSON object.
var errNotObject = errors.New("the record is not a JSON object")

// recordOf is the record of the JSON object v, each attribute of its JSON
// type's kind. A null is an absent attribute, as it always was in this
// file (encoding/json leaves a field it meets as null unset).
func recordOf(v []byte) (spawner.Record, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(v, &obj); err != nil {
		return nil, errNotObject
	}
	rec := make(spawner.Record, len(obj))
	for name, raw := range obj {
		if a := attrOf(raw); a.Kind != spawner.AttrNull {
			rec[name] = a
		}
	}
	return rec, nil
}

// attrOf is the attribute of the well-formed JSON value raw.
func attrOf(raw json.RawMessage) spawner.Attr {
	switch raw[0] {
	case '"':
		var s string
		_ = json.Unmarshal(raw, &s) // well formed: the object decoded
		return spawner.StringAttr(s)
	case 't', 'f':
		return spawner.BoolAttr(raw[0] == 't')
	case 'n':
		return spawner.Attr{Kind: spawner.AttrNull}
	case '[':
		return spawner.Attr{Kind: spawner.AttrList}
	case '{':
		return spawner.Attr{Kind: spawner.AttrMap}
	}
	return spawner.Attr{Kind: spawner.AttrNumber, Text: string(raw)}
}

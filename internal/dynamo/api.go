package dynamo

// DynamoDB's calls as the table makes them: the client, and the JSON
// documents of its operations, with only the members the table sends
// or reads (DynamoDB's API reference names each).

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/mineral-contest/spawner/internal/awsapi"
	"github.com/mineral-contest/spawner/internal/spawner"
)

// API is how the table reaches DynamoDB: one JSON document in and
// out per operation, as an *awsapi.Client of DynamoDB does; a test may
// answer with its own documents.
type API interface {
	JSON(ctx context.Context, op string, in, out any) error
}

var _ API = (*awsapi.Client)(nil)

// service is DynamoDB's AWS JSON 1.0 protocol; its answers carry a CRC32.
var service = awsapi.Service{
	ID: "DynamoDB", SigningName: "dynamodb", EndpointPrefix: "dynamodb",
	JSONVersion: "1.0", TargetPrefix: "DynamoDB_20120810", CRC32: true,
}

// NewClient returns the DynamoDB client of cfg, on endpoint when not nil
// (the AWS_ENDPOINT_URL_DYNAMODB override), else cfg.BaseEndpoint, else
// DynamoDB's regional endpoint.
func NewClient(cfg aws.Config, endpoint *string) *awsapi.Client {
	return awsapi.New(cfg, service, endpoint)
}

// item is an item: attribute name → value.
type item map[string]value

// value is an attribute value. On the wire it is an object with one
// member that names its type: {"S": "abc"}, {"N": "12"}, {"BOOL": true},
// {"L": [...]}, ...
type value struct {
	kind string // "S", "N", "BOOL", "L", ...; "" when not one typed value
	text string // an S's or an N's text; the JSON of any other type's value
	b    bool   // a BOOL's
}

func str(s string) value { return value{kind: "S", text: s} }

func boolean(b bool) value { return value{kind: "BOOL", b: b} }

func (v value) MarshalJSON() ([]byte, error) {
	var inner []byte
	switch v.kind {
	case "S", "N":
		inner = strconv.AppendQuote(nil, v.text)
	case "BOOL":
		inner = strconv.AppendBool(nil, v.b)
	default:
		inner = []byte(v.text)
	}
	return json.Marshal(map[string]json.RawMessage{v.kind: inner})
}

func (v *value) UnmarshalJSON(data []byte) error {
	var one map[string]json.RawMessage
	if err := json.Unmarshal(data, &one); err != nil {
		return err
	}
	*v = value{}
	if len(one) != 1 {
		return nil
	}
	for kind, raw := range one {
		v.kind = kind
		switch kind {
		case "S", "N":
			return json.Unmarshal(raw, &v.text)
		case "BOOL":
			return json.Unmarshal(raw, &v.b)
		default:
			v.text = string(raw)
		}
	}
	return nil
}

// attr is v as a record's attribute, of its DynamoDB type's kind: only S,
// N and BOOL carry their value; a value of a type newer than this code,
// or of none, is of no kind a record holds.
func (v value) attr() spawner.Attr {
	switch v.kind {
	case "S":
		return spawner.StringAttr(v.text)
	case "N":
		return spawner.Attr{Kind: spawner.AttrNumber, Text: v.text}
	case "BOOL":
		return spawner.BoolAttr(v.b)
	case "NULL":
		return spawner.Attr{Kind: spawner.AttrNull}
	case "B":
		return spawner.Attr{Kind: spawner.AttrBinary}
	case "L":
		return spawner.Attr{Kind: spawner.AttrList}
	case "M":
		return spawner.Attr{Kind: spawner.AttrMap}
	case "SS", "NS", "BS":
		return spawner.Attr{Kind: spawner.AttrSet}
	}
	return spawner.Attr{}
}

type scanInput struct {
	TableName                 string `json:"TableName"`
	ConsistentRead            bool   `json:"ConsistentRead"`
	FilterExpression          string `json:"FilterExpression,omitempty"`
	ExpressionAttributeValues item   `json:"ExpressionAttributeValues,omitempty"`
	ExclusiveStartKey         item   `json:"ExclusiveStartKey,omitempty"`
}

// scanPage is a Scan answer read item by item, each handed to each as it
// is decoded: a page of a thousand servers never sits whole in memory as
// items.
type scanPage struct {
	each             func(item)
	LastEvaluatedKey item
}

func (p *scanPage) UnmarshalJSON(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := expect(dec, json.Delim('{')); err != nil {
		return err
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case "Items":
			err = p.items(dec)
		case "LastEvaluatedKey":
			err = dec.Decode(&p.LastEvaluatedKey)
		default:
			var skip json.RawMessage
			err = dec.Decode(&skip)
		}
		if err != nil {
			return err
		}
	}
	return expect(dec, json.Delim('}'))
}

// items reads the array of items, or null.
func (p *scanPage) items(dec *json.Decoder) error {
	tok, err := dec.Token()
	if err != nil || tok == nil {
		return err
	}
	if tok != json.Delim('[') {
		return fmt.Errorf("Items is %v, want a list", tok)
	}
	for dec.More() {
		var it item
		if err := dec.Decode(&it); err != nil {
			return err
		}
		p.each(it)
	}
	return expect(dec, json.Delim(']'))
}

// expect reads the next token, which must be want.
func expect(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok != want {
		return fmt.Errorf("%v where %v was expected", tok, want)
	}
	return nil
}

type putItemInput struct {
	TableName string `json:"TableName"`
	Item      item   `json:"Item"`
}

type deleteItemInput struct {
	TableName string `json:"TableName"`
	Key       item   `json:"Key"`
}

type getItemInput struct {
	TableName      string `json:"TableName"`
	Key            item   `json:"Key"`
	ConsistentRead bool   `json:"ConsistentRead"`
}

type getItemOutput struct {
	Item item `json:"Item"`
}

type updateTimeToLiveInput struct {
	TableName               string                  `json:"TableName"`
	TimeToLiveSpecification timeToLiveSpecification `json:"TimeToLiveSpecification"`
}

type timeToLiveSpecification struct {
	AttributeName string `json:"AttributeName"`
	Enabled       bool   `json:"Enabled"`
}

type describeTableInput struct {
	TableName string `json:"TableName"`
}

type describeTableOutput struct {
	Table *tableDescription `json:"Table"`
}

type createTableInput struct {
	TableName            string                `json:"TableName"`
	BillingMode          string                `json:"BillingMode"`
	AttributeDefinitions []attributeDefinition `json:"AttributeDefinitions"`
	KeySchema            []keySchemaElement    `json:"KeySchema"`
}

type createTableOutput struct {
	TableDescription *tableDescription `json:"TableDescription"`
}

type tableDescription struct {
	TableStatus          string                `json:"TableStatus"`
	KeySchema            []keySchemaElement    `json:"KeySchema"`
	AttributeDefinitions []attributeDefinition `json:"AttributeDefinitions"`
}

// statusActive is the TableStatus of a table ready for use.
const statusActive = "ACTIVE"

type attributeDefinition struct {
	AttributeName string `json:"AttributeName"`
	AttributeType string `json:"AttributeType"`
}

type keySchemaElement struct {
	AttributeName string `json:"AttributeName"`
	KeyType       string `json:"KeyType"`
}

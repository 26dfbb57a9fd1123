package dynamo

// DynamoDB's calls as the table makes them: the client, and the JSON
// documents of its five operations, with only the members the table sends
// or reads (DynamoDB's API reference names each).

import (
	"context"
	"encoding/json"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/mineral-contest/spawner/internal/awsapi"
	"github.com/mineral-contest/spawner/internal/spawner"
)

// DynamoAPI is how the table reaches DynamoDB: one JSON document in and
// out per operation, as an *awsapi.Client of DynamoDB does; a test may
// answer with its own documents.
type DynamoAPI interface {
	JSON(ctx context.Context, op string, in, out any) error
}

var _ DynamoAPI = (*awsapi.Client)(nil)

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

// value is an attribute value as the protocol carries it, an object with
// one member that names its type: {"S": "abc"}, {"N": "12"},
// {"BOOL": true}, {"L": [...]}, ...
type value map[string]json.RawMessage

func str(s string) value { return value{"S": strconv.AppendQuote(nil, s)} }

func boolean(b bool) value { return value{"BOOL": strconv.AppendBool(nil, b)} }

// attr is v as a record's attribute, of its DynamoDB type's kind: only S,
// N and BOOL carry their value; a value of a type newer than this code,
// or of none, is of no kind a record holds.
func (v value) attr() spawner.Attr {
	if len(v) != 1 {
		return spawner.Attr{}
	}
	for t, raw := range v {
		switch t {
		case "S":
			var s string
			if json.Unmarshal(raw, &s) == nil {
				return spawner.StringAttr(s)
			}
		case "N":
			var n string
			if json.Unmarshal(raw, &n) == nil {
				return spawner.Attr{Kind: spawner.AttrNumber, Text: n}
			}
		case "BOOL":
			var b bool
			if json.Unmarshal(raw, &b) == nil {
				return spawner.BoolAttr(b)
			}
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
	}
	return spawner.Attr{}
}

type scanInput struct {
	TableName         string `json:"TableName"`
	ConsistentRead    bool   `json:"ConsistentRead"`
	ExclusiveStartKey item   `json:"ExclusiveStartKey,omitempty"`
}

type scanOutput struct {
	Items            []item `json:"Items"`
	LastEvaluatedKey item   `json:"LastEvaluatedKey"`
}

type putItemInput struct {
	TableName string `json:"TableName"`
	Item      item   `json:"Item"`
}

type deleteItemInput struct {
	TableName string `json:"TableName"`
	Key       item   `json:"Key"`
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

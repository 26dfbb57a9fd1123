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

func number(n int) value { return value{"N": strconv.AppendQuote(nil, strconv.Itoa(n))} }

func boolean(b bool) value { return value{"BOOL": strconv.AppendBool(nil, b)} }

// typeName is v's type, for error messages: "S", "N", "L", ...
func (v value) typeName() string {
	if len(v) == 1 {
		for t := range v {
			return t
		}
	}
	return "not one typed value"
}

// string is v's S, if v is one.
func (v value) string() (string, bool) {
	var s string
	raw, ok := v["S"]
	return s, ok && len(v) == 1 && json.Unmarshal(raw, &s) == nil
}

// number is v's N, the decimal string, if v is one.
func (v value) number() (string, bool) {
	var s string
	raw, ok := v["N"]
	return s, ok && len(v) == 1 && json.Unmarshal(raw, &s) == nil
}

// boolean is v's BOOL, if v is one.
func (v value) boolean() (bool, bool) {
	var b bool
	raw, ok := v["BOOL"]
	return b, ok && len(v) == 1 && json.Unmarshal(raw, &b) == nil
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

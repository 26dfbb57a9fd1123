package ecs

import (
	"context"
	"net/url"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/mineral-contest/spawner/internal/awsapi"
)

// NetworkInterface is what the adapter reads of an EC2 network interface.
type NetworkInterface struct {
	ID       string
	PublicIP string // empty when no public IP is associated
}

// EC2API is the part of EC2 the adapter uses.
type EC2API interface {
	// DescribeNetworkInterfaces describes the network interfaces ids. An id
	// EC2 does not know fails the whole call, with EC2's
	// InvalidNetworkInterfaceID.NotFound as a smithy.APIError.
	DescribeNetworkInterfaces(ctx context.Context, ids []string) ([]NetworkInterface, error)
}

var _ EC2API = (*EC2)(nil)

// ec2Service is EC2's Query protocol.
var ec2Service = awsapi.Service{ID: "EC2", SigningName: "ec2", EndpointPrefix: "ec2", QueryVersion: "2016-11-15"}

// EC2 is the EC2 client: DescribeNetworkInterfaces over the Query protocol.
// Its Client's Errors counts its failures.
type EC2 struct{ *awsapi.Client }

// NewEC2 returns the EC2 client of cfg, on endpoint when not nil (the
// AWS_ENDPOINT_URL_EC2 override), else cfg.BaseEndpoint, else EC2's
// regional endpoint. It dials nothing.
func NewEC2(cfg aws.Config, endpoint *string) *EC2 {
	return &EC2{awsapi.New(cfg, ec2Service, endpoint)}
}

// DescribeNetworkInterfaces implements EC2API.
func (c *EC2) DescribeNetworkInterfaces(ctx context.Context, ids []string) ([]NetworkInterface, error) {
	params := url.Values{}
	for i, id := range ids {
		params.Set("NetworkInterfaceId."+strconv.Itoa(i+1), id)
	}
	var out struct {
		Items []struct {
			ID          string `xml:"networkInterfaceId"`
			Association struct {
				PublicIP string `xml:"publicIp"`
			} `xml:"association"`
		} `xml:"networkInterfaceSet>item"`
	}
	if err := c.Query(ctx, "DescribeNetworkInterfaces", params, &out); err != nil {
		return nil, err
	}
	nis := make([]NetworkInterface, 0, len(out.Items))
	for _, it := range out.Items {
		nis = append(nis, NetworkInterface{ID: it.ID, PublicIP: it.Association.PublicIP})
	}
	return nis, nil
}

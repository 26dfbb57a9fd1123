package fakeaws

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

type networkInterfaceAssociation struct {
	IPOwnerID     string `xml:"ipOwnerId"`
	PublicDNSName string `xml:"publicDnsName"`
	PublicIP      string `xml:"publicIp"`
}

type privateIPAddress struct {
	PrivateIPAddress string                       `xml:"privateIpAddress"`
	Primary          bool                         `xml:"primary"`
	Association      *networkInterfaceAssociation `xml:"association,omitempty"`
}

type networkInterface struct {
	NetworkInterfaceID string                       `xml:"networkInterfaceId"`
	SubnetID           string                       `xml:"subnetId"`
	VpcID              string                       `xml:"vpcId"`
	AvailabilityZone   string                       `xml:"availabilityZone"`
	Description        string                       `xml:"description"`
	OwnerID            string                       `xml:"ownerId"`
	RequesterID        string                       `xml:"requesterId"`
	RequesterManaged   bool                         `xml:"requesterManaged"`
	Status             string                       `xml:"status"`
	MacAddress         string                       `xml:"macAddress"`
	PrivateIPAddress   string                       `xml:"privateIpAddress"`
	SourceDestCheck    bool                         `xml:"sourceDestCheck"`
	InterfaceType      string                       `xml:"interfaceType"`
	Association        *networkInterfaceAssociation `xml:"association,omitempty"`
	PrivateIPAddresses []privateIPAddress           `xml:"privateIpAddressesSet>item"`
	TagSet             struct{}                     `xml:"tagSet"`
}

type describeNetworkInterfacesResponse struct {
	XMLName           xml.Name           `xml:"DescribeNetworkInterfacesResponse"`
	Xmlns             string             `xml:"xmlns,attr"`
	RequestID         string             `xml:"requestId"`
	NetworkInterfaces []networkInterface `xml:"networkInterfaceSet>item"`
}

// describeNetworkInterfaces answers by NetworkInterfaceId.N; an id that is
// not attached to a live task fails the whole call, as EC2 does.
func (s *Server) describeNetworkInterfaces(form url.Values, reqID string) ([]byte, *apiError) {
	var ids []string
	for key := range form {
		switch {
		case strings.HasPrefix(key, "NetworkInterfaceId."):
			if _, err := strconv.Atoi(strings.TrimPrefix(key, "NetworkInterfaceId.")); err != nil {
				return nil, &apiError{http.StatusBadRequest, "InvalidParameterValue", "bad parameter " + key}
			}
			ids = append(ids, form.Get(key))
		case strings.HasPrefix(key, "Filter."):
			return nil, &apiError{http.StatusBadRequest, "InvalidParameterValue", "fakeaws does not implement filters, only NetworkInterfaceId.N"}
		}
	}
	resp := describeNetworkInterfacesResponse{Xmlns: ec2Namespace, RequestID: reqID, NetworkInterfaces: []networkInterface{}}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(ids) == 0 {
		for _, t := range s.tasks {
			if s.enis[t.ENI] == t {
				ids = append(ids, t.ENI)
			}
		}
	}
	for _, id := range ids {
		t, ok := s.enis[id]
		if !ok {
			return nil, &apiError{http.StatusBadRequest, "InvalidNetworkInterfaceID.NotFound",
				fmt.Sprintf("The networkInterface ID '%s' does not exist", id)}
		}
		resp.NetworkInterfaces = append(resp.NetworkInterfaces, s.networkInterface(t))
	}
	var b bytes.Buffer
	b.WriteString(xml.Header)
	if err := xml.NewEncoder(&b).Encode(resp); err != nil {
		return nil, &apiError{http.StatusInternalServerError, "InternalError", "fakeaws: encode answer: " + err.Error()}
	}
	return b.Bytes(), nil
}

func (s *Server) networkInterface(t *task) networkInterface {
	subnet := ""
	if len(t.Subnets) > 0 {
		subnet = t.Subnets[0]
	}
	ni := networkInterface{
		NetworkInterfaceID: t.ENI,
		SubnetID:           subnet,
		VpcID:              "vpc-0fa4e0000000000fa",
		AvailabilityZone:   s.opts.Region + "a",
		Description:        fmt.Sprintf("arn:aws:ecs:%s:%s:attachment/%08x-aaaa-4000-8000-%012x", s.opts.Region, s.opts.Account, t.n, t.n),
		OwnerID:            s.opts.Account,
		RequesterID:        "578734482556",
		RequesterManaged:   true,
		Status:             "in-use",
		MacAddress:         fmt.Sprintf("0a:00:00:%02x:%02x:%02x", t.n>>16&0xff, t.n>>8&0xff, t.n&0xff),
		PrivateIPAddress:   t.PrivateIP,
		SourceDestCheck:    true,
		InterfaceType:      "interface",
	}
	var assoc *networkInterfaceAssociation
	if t.PublicIP != "" {
		assoc = &networkInterfaceAssociation{
			IPOwnerID:     "amazon",
			PublicDNSName: "ec2-" + strings.ReplaceAll(t.PublicIP, ".", "-") + "." + s.opts.Region + ".compute.amazonaws.com",
			PublicIP:      t.PublicIP,
		}
	}
	ni.Association = assoc
	ni.PrivateIPAddresses = []privateIPAddress{{PrivateIPAddress: t.PrivateIP, Primary: true, Association: assoc}}
	return ni
}

func xmlEscape(b *bytes.Buffer, s string) {
	_ = xml.EscapeText(b, []byte(s))
}

package ecs_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/smithy-go"

	"github.com/mineral-contest/spawner/internal/ecs"
	"github.com/mineral-contest/spawner/internal/testworld/fakeaws"
)

// The EC2 client speaks the Query protocol by hand: these check what the
// SDK's client did for free, against the fake EC2.

func TestEC2ErrorsAreTheSDKs(t *testing.T) {
	srv := fakeaws.New(t, fakeOptions())
	c := ecs.NewEC2(srv.AWSConfig(), nil)
	var failed atomic.Int32
	c.Errors = func(service, op string) {
		if service != "EC2" || op != "DescribeNetworkInterfaces" {
			t.Errorf("Errors(%q, %q), want EC2 DescribeNetworkInterfaces", service, op)
		}
		failed.Add(1)
	}
	_, err := c.DescribeNetworkInterfaces(ctxFor(t), []string{"eni-00000000000000bad"})
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != "InvalidNetworkInterfaceID.NotFound" || !strings.Contains(api.ErrorMessage(), "eni-00000000000000bad") {
		t.Fatalf("err = %v, want EC2's InvalidNetworkInterfaceID.NotFound naming the interface", err)
	}
	var op *smithy.OperationError
	if !errors.As(err, &op) || op.Service() != "EC2" || op.Operation() != "DescribeNetworkInterfaces" {
		t.Errorf("err = %v, want a *smithy.OperationError of EC2 DescribeNetworkInterfaces", err)
	}
	for _, part := range []string{"operation error EC2: DescribeNetworkInterfaces", "StatusCode: 400", "RequestID: "} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("err = %q, want it to say %q as the SDK's did", err, part)
		}
	}
	if n := failed.Load(); n != 1 {
		t.Errorf("Errors told %d times, want once", n)
	}

	srv.FailNext("DescribeNetworkInterfaces", 3, fakeaws.Throttle)
	if _, err := c.DescribeNetworkInterfaces(ctxFor(t), nil); err == nil {
		t.Fatal("3 throttled attempts succeeded")
	}
	if n := failed.Load(); n != 2 {
		t.Errorf("Errors told %d times after a call that failed 3 attempts, want once more", n)
	}
	if n := len(srv.Calls("DescribeNetworkInterfaces")); n != 4 {
		t.Errorf("%d calls, want 1 then 3 attempts", n)
	}
}

func TestEC2SignsForEC2InTheRegion(t *testing.T) {
	var auth, body atomic.Value
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth.Store(r.Header.Get("Authorization"))
		_ = r.ParseForm()
		body.Store(r.PostForm.Encode())
		w.Write([]byte(`<DescribeNetworkInterfacesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r</requestId>` +
			`<networkInterfaceSet><item><networkInterfaceId>eni-1</networkInterfaceId><association><publicIp>203.0.113.7</publicIp></association></item>` +
			`<item><networkInterfaceId>eni-2</networkInterfaceId></item></networkInterfaceSet></DescribeNetworkInterfacesResponse>`))
	}))
	t.Cleanup(ts.Close)
	cfg := fakeaws.New(t, fakeOptions()).AWSConfig()
	url := ts.URL
	nis, err := ecs.NewEC2(cfg, &url).DescribeNetworkInterfaces(ctxFor(t), []string{"eni-1", "eni-2"})
	if err != nil {
		t.Fatal(err)
	}
	if len(nis) != 2 || nis[0] != (ecs.NetworkInterface{ID: "eni-1", PublicIP: "203.0.113.7"}) || nis[1] != (ecs.NetworkInterface{ID: "eni-2"}) {
		t.Errorf("interfaces %+v, want eni-1 with its public IP and eni-2 without", nis)
	}
	a, _ := auth.Load().(string)
	if !strings.HasPrefix(a, "AWS4-HMAC-SHA256 Credential="+fakeaws.AccessKeyID+"/") || !strings.Contains(a, "/"+cfg.Region+"/ec2/aws4_request") {
		t.Errorf("Authorization %q, want SigV4 for ec2 in %s", a, cfg.Region)
	}
	if b, _ := body.Load().(string); b != "Action=DescribeNetworkInterfaces&NetworkInterfaceId.1=eni-1&NetworkInterfaceId.2=eni-2&Version=2016-11-15" {
		t.Errorf("form %q", b)
	}
}

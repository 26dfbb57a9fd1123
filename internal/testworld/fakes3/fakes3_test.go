package fakes3

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

const bucket = "worlds-bucket"

// code is the S3 error code of err, "" for none.
func code(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	return ""
}

// TestPolicies: what each role of deploy/terraform may do on the worlds'
// bucket, through the real client.
func TestPolicies(t *testing.T) {
	ctx := context.Background()
	s := Start(t)
	s.Bucket(t, bucket)
	c := s.Client(t)
	put := func(key string) error {
		_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader("x")})
		return err
	}
	var uploadID string
	calls := []struct {
		name      string
		call      func() error
		task, bot bool // allowed to
	}{
		{"put under worlds/", func() error { return put("worlds/w/1.tar.gz") }, true, true},
		{"put elsewhere", func() error { return put("other/1") }, false, false},
		{"get under worlds/", func() error {
			_, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("worlds/w/1.tar.gz")})
			return err
		}, true, true},
		{"list worlds/", func() error {
			_, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String("worlds/w/")})
			return err
		}, true, true},
		{"list everything", func() error {
			_, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
			return err
		}, false, false},
		{"head the bucket", func() error {
			_, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)})
			return err
		}, false, false},
		{"list uploads", func() error {
			_, err := c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(bucket), Prefix: aws.String("worlds/")})
			return err
		}, false, true},
		{"begin an upload", func() error {
			up, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String("worlds/w/2.tar.gz")})
			uploadID = aws.ToString(up.UploadId)
			return err
		}, true, true},
		{"abort an upload", func() error {
			_, err := c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String("worlds/w/2.tar.gz"), UploadId: &uploadID})
			return err
		}, true, true},
		{"delete under worlds/", func() error {
			_, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String("worlds/w/1.tar.gz")})
			return err
		}, false, true},
	}
	for _, role := range []struct {
		name   string
		denies func(*http.Request) bool
	}{{"world task", WorldTaskDenies}, {"bot", BotDenies}} {
		for _, call := range calls {
			s.DenyWhen(role.denies)
			err := call.call()
			allowed := call.task
			if role.name == "bot" {
				allowed = call.bot
			}
			switch {
			case allowed && err != nil:
				t.Errorf("%s role: %s: %v, want allowed", role.name, call.name, err)
			case !allowed && code(err) != "AccessDenied" && code(err) != "Forbidden": // a HEAD's answer has no body
				t.Errorf("%s role: %s: %v, want AccessDenied", role.name, call.name, err)
			}
		}
	}
}

// TestHoldNext: a held request waits, in the middle of its call, until
// released; the next ones pass.
func TestHoldNext(t *testing.T) {
	ctx := context.Background()
	s := Start(t)
	s.Bucket(t, bucket)
	c := s.Client(t)
	h := s.HoldNext(func(r *http.Request) bool { return r.Method == http.MethodPut })
	done := make(chan error, 1)
	go func() {
		_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("worlds/held"), Body: strings.NewReader("x")})
		done <- err
	}()
	<-h.Arrived()
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("worlds/next"), Body: strings.NewReader("y")}); err != nil {
		t.Fatalf("a second put while the first is held: %v", err)
	}
	select {
	case err := <-done:
		t.Fatalf("the held put returned before its release: %v", err)
	default:
	}
	h.Release()
	if err := <-done; err != nil {
		t.Fatalf("the held put, released: %v", err)
	}
	if _, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("worlds/held")}); err != nil {
		t.Errorf("the held put's object: %v", err)
	}
}

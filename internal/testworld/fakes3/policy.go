package fakes3

import (
	"net/http"
	"strings"
)

// The policies deploy/terraform gives the bot (iam.tf, the bot's role) and
// the tasks of games with a world (worlds.tf, world_task) on the worlds'
// bucket, as predicates for DenyWhen: each reports whether S3 would refuse
// a request (path-style, as the fake's clients send them) to that role.

// worldsPrefix is the only prefix either role may touch.
const worldsPrefix = "worlds/"

// WorldTaskDenies reports whether the world task role is refused r. It
// may list the bucket under worlds/ (ListObjectsV2 with that prefix), get
// and put objects under worlds/ (multipart uploads included) and abort
// its uploads; nothing else: no DeleteObject, no ListMultipartUploads, no
// HeadBucket.
func WorldTaskDenies(r *http.Request) bool {
	return denies(r, false)
}

// BotDenies reports whether the bot's role is refused r: what the world
// task role may do, and also delete objects under worlds/ and list the
// uploads under way. HeadBucket is refused to it too.
func BotDenies(r *http.Request) bool {
	return denies(r, true)
}

func denies(r *http.Request, bot bool) bool {
	_, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	q := r.URL.Query()
	if key == "" { // the bucket itself
		switch {
		case r.Method == http.MethodGet && q.Has("uploads"):
			return !bot // s3:ListBucketMultipartUploads, no prefix condition
		case r.Method == http.MethodGet && !q.Has("location") && !q.Has("versioning") && !q.Has("policy"):
			return !strings.HasPrefix(q.Get("prefix"), worldsPrefix) // s3:ListBucket with s3:prefix worlds/*
		}
		return true // HeadBucket, and anything else on the bucket
	}
	if !strings.HasPrefix(key, worldsPrefix) {
		return true
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodPost:
		return false // GetObject, PutObject (multipart: create, parts, complete)
	case http.MethodDelete:
		return !q.Has("uploadId") && !bot // AbortMultipartUpload is the task's; DeleteObject only the bot's
	}
	return true
}

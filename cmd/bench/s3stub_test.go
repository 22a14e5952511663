package bench

import (
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
)

// stubS3 is just enough S3 for the runner: path-style CreateBucket, PUT,
// GET, HEAD and DELETE object, and ListObjectsV2, in memory. Signatures
// are not checked. failEvery > 0 makes every failEvery-th PUT object
// answer 500 InternalError without storing anything.
type stubS3 struct {
	failEvery int

	mu        sync.Mutex
	buckets   map[string]map[string][]byte
	requests  map[string]int // "PUT object", "GET object", "LIST", ...
	checksums int            // PUTs that carried an x-amz-checksum-* header
}

func newStub(t *testing.T, failEvery int) (*stubS3, string) {
	s := &stubS3{failEvery: failEvery, buckets: map[string]map[string][]byte{}, requests: map[string]int{}}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv.URL
}

func (s *stubS3) count(what string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[what]
}

func (s *stubS3) objects(bucket string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.buckets[bucket])
}

func s3Error(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>%s</Message></Error>`, code, msg)
}

func (s *stubS3) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	s.mu.Lock()
	defer s.mu.Unlock()
	what := r.Method + " object"
	if key == "" {
		what = r.Method + " bucket"
		if r.Method == http.MethodGet && r.URL.Query().Get("list-type") == "2" {
			what = "LIST"
		}
	}
	s.requests[what]++
	objs, ok := s.buckets[bucket]
	switch {
	case what == "PUT bucket":
		if ok {
			s3Error(w, http.StatusConflict, "BucketAlreadyOwnedByYou", "yours already")
			return
		}
		s.buckets[bucket] = map[string][]byte{}
		return
	case !ok:
		s3Error(w, http.StatusNotFound, "NoSuchBucket", "no such bucket")
		return
	}
	switch what {
	case "PUT object":
		for h := range r.Header {
			if strings.HasPrefix(strings.ToLower(h), "x-amz-checksum-") {
				s.checksums++
			}
		}
		if s.failEvery > 0 && s.requests[what]%s.failEvery == 0 {
			s3Error(w, http.StatusInternalServerError, "InternalError", "injected")
			return
		}
		objs[key] = body
		w.Header().Set("ETag", `"etag"`)
	case "GET object", "HEAD object":
		b, ok := objs[key]
		if !ok {
			s3Error(w, http.StatusNotFound, "NoSuchKey", "no such key")
			return
		}
		w.Header().Set("Content-Length", fmt.Sprint(len(b)))
		if r.Method == http.MethodGet {
			_, _ = w.Write(b)
		}
	case "DELETE object":
		delete(objs, key)
		w.WriteHeader(http.StatusNoContent)
	case "LIST":
		type content struct {
			Key  string
			Size int
		}
		res := struct {
			XMLName     xml.Name `xml:"ListBucketResult"`
			Name        string
			Prefix      string
			KeyCount    int
			MaxKeys     int
			IsTruncated bool
			Contents    []content
		}{Name: bucket, Prefix: r.URL.Query().Get("prefix"), MaxKeys: 100}
		keys := make([]string, 0, len(objs))
		for k := range objs {
			if strings.HasPrefix(k, res.Prefix) {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		if len(keys) > res.MaxKeys {
			keys, res.IsTruncated = keys[:res.MaxKeys], true
		}
		for _, k := range keys {
			res.Contents = append(res.Contents, content{k, len(objs[k])})
		}
		res.KeyCount = len(keys)
		w.Header().Set("Content-Type", "application/xml")
		_ = xml.NewEncoder(w).Encode(res)
	default:
		s3Error(w, http.StatusNotImplemented, "NotImplemented", what)
	}
}

package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// cairn admin creates and changes cache services: a storage service's
// cache and an HTTP origin's, their settings in the answers and in
// servicelist.
func TestAdmin_CacheServices(t *testing.T) {
	srv := startServer(t)
	flags := []string{"--url", srv.url, "--key", srv.key}
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "from "+r.URL.Path)
	}))
	defer origin.Close()
	adminJSON(t, nil, nil, append([]string{"servicecreate", "--id", "cli-src"}, flags...)...)
	type svc struct {
		Type  string `json:"type"`
		Cache struct {
			Settings map[string]any `json:"settings"`
			Misses   int64          `json:"misses"`
		} `json:"cache"`
	}
	var s svc
	adminJSON(t, nil, &s, append([]string{"servicecreate", "--id", "cli-edge", "--type", "cache", "--source-origin", origin.URL + "/base",
		"--source-path", "v1", "--refresh", "never", "--expire-unused", "24h", "--max-bytes", "1048576", "--negative-ttl", "5s"}, flags...)...)
	if st := s.Cache.Settings; s.Type != "cache" || st["refresh"] != "never" || st["expire_unused"] != "24h" || st["max_bytes"] != float64(1<<20) ||
		st["negative_ttl"] != "5s" || st["source_path"] != "v1" || st["source"].(map[string]any)["url"] != origin.URL+"/base" {
		t.Fatalf("servicecreate --type cache: %+v", s)
	}
	if code, body := httpStatus(t, http.MethodGet, srv.url+"/getfile?sid=cli-edge&path=a.txt", srv.key, nil); code != http.StatusOK || string(body) != "from /base/v1/a.txt" {
		t.Fatalf("getfile through the cache: %d %s", code, body)
	}
	s = svc{}
	adminJSON(t, nil, &s, append([]string{"serviceupdate", "--id", "cli-edge", "--source-service", "cli-src", "--max-bytes", "0"}, flags...)...)
	if st := s.Cache.Settings; st["source"].(map[string]any)["service"] != "cli-src" || st["max_bytes"] != nil || s.Cache.Misses != 1 {
		t.Fatalf("serviceupdate: %+v", s)
	}
	out := adminJSON(t, nil, nil, append([]string{"servicelist"}, flags...)...)
	if !strings.Contains(out, `"cache": {`) || !strings.Contains(out, `"service": "cli-src"`) {
		t.Fatalf("servicelist: %s", out)
	}
	// a flush is in the audit trail with what it dropped
	if code, body := httpStatus(t, http.MethodPost, srv.url+"/flush?sid=cli-edge", srv.key, nil); code != http.StatusOK || !strings.Contains(string(body), `"flushed":0`) {
		t.Fatalf("flush: %d %s", code, body)
	}
	audit, err := runCmd(t, map[string]string{"CAIRN_URL": srv.url, "CAIRN_KEY": srv.key}, "audit", "--sid", "cli-edge", "--type", "cache.flushed.v1")
	if err != nil || !strings.Contains(audit, "cache.flushed") || !strings.Contains(audit, "flushed 0 cached files") {
		t.Fatalf("audit: %v\n%s", err, audit)
	}
	if err := adminErr(t, nil, append([]string{"servicecreate", "--id", "cli-bad", "--type", "cache", "--source-service", "a", "--source-origin", "http://x"}, flags...)...); !strings.Contains(err.Error(), "not both") {
		t.Fatalf("two sources: %v", err)
	}
	if err := adminErr(t, nil, append([]string{"servicecreate", "--id", "cli-bad", "--type", "cache"}, flags...)...); !strings.Contains(err.Error(), "invalid_argument") {
		t.Fatalf("no source: %v", err)
	}
}

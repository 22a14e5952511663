package main

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// The admin command drives replication: a source, a replica service,
// promotion and re-attachment.
func TestAdmin_Replication(t *testing.T) {
	primary, secondary := startServer(t), startServer(t)
	pflags := []string{"--url", primary.url, "--key", primary.key}
	sflags := []string{"--url", secondary.url, "--key", secondary.key}
	adminJSON(t, nil, nil, append([]string{"servicecreate", "--id", "rep-src"}, pflags...)...)
	if st, body := httpStatus(t, http.MethodPut, primary.url+"/uploadfile?sid=rep-src&path=a", primary.key, strings.NewReader("hello")); st != http.StatusCreated {
		t.Fatalf("upload: %d %s", st, body)
	}
	adminJSON(t, nil, nil, append([]string{"sourcecreate", "--name", "prim", "--source-url", primary.url, "--source-key", primary.key}, sflags...)...)
	var src struct {
		Sources []struct {
			Name string `json:"name"`
			URL  string `json:"url"`
		} `json:"sources"`
	}
	out := adminJSON(t, nil, &src, append([]string{"sourcelist"}, sflags...)...)
	if len(src.Sources) != 1 || src.Sources[0].URL != primary.url || strings.Contains(out, primary.key) {
		t.Fatalf("sourcelist: %s", out)
	}
	adminJSON(t, nil, nil, append([]string{"servicecreate", "--id", "rep-src", "--replica", "prim/rep-src"}, sflags...)...)
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, body := httpStatus(t, http.MethodGet, secondary.url+"/getfile?sid=rep-src&path=a", secondary.key, nil)
		if st == http.StatusOK && string(body) == "hello" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the replica never got the file: %d %s", st, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := adminErr(t, nil, append([]string{"servicecreate", "--id", "x-rep", "--replica", "nosource"}, sflags...)...); !strings.Contains(err.Error(), "SOURCE/SID") {
		t.Fatalf("a bad --replica: %v", err)
	}
	adminJSON(t, nil, nil, append([]string{"serviceupdate", "--id", "rep-src", "--promote"}, sflags...)...)
	if st, body := httpStatus(t, http.MethodPut, secondary.url+"/uploadfile?sid=rep-src&path=b", secondary.key, strings.NewReader("x")); st != http.StatusCreated {
		t.Fatalf("a write to the promoted replica: %d %s", st, body)
	}
	adminJSON(t, nil, nil, append([]string{"serviceupdate", "--id", "rep-src", "--follow", "prim/rep-src"}, sflags...)...)
	if err := adminErr(t, nil, append([]string{"sourcedelete", "--name", "prim"}, sflags...)...); !strings.Contains(err.Error(), "409") && !strings.Contains(err.Error(), "replica") {
		t.Fatalf("deleting a source in use: %v", err)
	}
}

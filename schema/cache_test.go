package schema_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/cairnhq/cairn/schema"
)

func TestCacheSettings_Check(t *testing.T) {
	svc := schema.CacheSource{Service: "photos"}
	origin := schema.CacheSource{URL: "http://127.0.0.1:9000/base"}
	for _, c := range []struct {
		name string
		st   schema.CacheSettings
		ok   bool
	}{
		{"service source", schema.CacheSettings{Source: svc}, true},
		{"origin with everything", schema.CacheSettings{Source: origin, SourcePath: "static/v2", Refresh: "0s",
			ExpireUnused: "24h", MaxBytes: 1 << 20, NegativeTTL: "0s"}, true},
		{"never", schema.CacheSettings{Source: origin, Refresh: "never", ExpireUnused: "never"}, true},
		{"no source", schema.CacheSettings{}, false},
		{"both sources", schema.CacheSettings{Source: schema.CacheSource{Service: "photos", URL: "http://x"}}, false},
		{"ftp", schema.CacheSettings{Source: schema.CacheSource{URL: "ftp://x/y"}}, false},
		{"no host", schema.CacheSettings{Source: schema.CacheSource{URL: "http:///y"}}, false},
		{"query", schema.CacheSettings{Source: schema.CacheSource{URL: "http://x/y?a=1"}}, false},
		{"credentials", schema.CacheSettings{Source: schema.CacheSource{URL: "http://u:p@x/y"}}, false},
		{"bad service", schema.CacheSettings{Source: schema.CacheSource{Service: "a/b"}}, false},
		{"dot-dot path", schema.CacheSettings{Source: origin, SourcePath: "a/../b"}, false},
		{"negative bound", schema.CacheSettings{Source: origin, MaxBytes: -1}, false},
		{"bad refresh", schema.CacheSettings{Source: origin, Refresh: "soon"}, false},
		{"negative refresh", schema.CacheSettings{Source: origin, Refresh: "-1s"}, false},
		{"zero expiry", schema.CacheSettings{Source: origin, ExpireUnused: "0s"}, false},
		{"bad negative ttl", schema.CacheSettings{Source: origin, NegativeTTL: "never"}, false},
	} {
		err := c.st.Check()
		if (err == nil) != c.ok {
			t.Errorf("%s: Check() = %v, want ok %v", c.name, err, c.ok)
		}
		if err != nil && !schema.IsKind(err, schema.KindInvalidArgument) {
			t.Errorf("%s: %v is not InvalidArgument", c.name, err)
		}
	}
}

func TestCacheSettings_Times(t *testing.T) {
	tm, err := schema.CacheSettings{Source: schema.CacheSource{Service: "s"}}.Times()
	if err != nil || tm.Refresh != time.Hour || tm.ExpireUnused != 0 || tm.NegativeTTL != time.Minute {
		t.Errorf("defaults: %+v, %v", tm, err)
	}
	tm, err = schema.CacheSettings{Refresh: "never", ExpireUnused: "90s", NegativeTTL: "0s"}.Times()
	if err != nil || tm.Refresh >= 0 || tm.ExpireUnused != 90*time.Second || tm.NegativeTTL != 0 {
		t.Errorf("explicit: %+v, %v", tm, err)
	}
	if d := (schema.CacheSettings{}).WithDefaults(); d.Refresh != "1h" || d.NegativeTTL != "1m" || d.ExpireUnused != "" {
		t.Errorf("WithDefaults: %+v", d)
	}
}

func TestCacheSettings_SourceKey(t *testing.T) {
	for _, c := range []struct{ pre, path, want string }{
		{"", "a/b.txt", "a/b.txt"},
		{"static", "a/b.txt", "static/a/b.txt"},
		{"/static/v2/", "a", "static/v2/a"},
		{"static", "/a", "static//a"}, // the path as requested: a leading slash is part of it
	} {
		if got := (schema.CacheSettings{SourcePath: c.pre}).SourceKey(c.path); got != c.want {
			t.Errorf("SourceKey(%q, %q) = %q, want %q", c.pre, c.path, got, c.want)
		}
	}
}

// The events schema takes either source form of a cache, never both or
// neither, and a flush needs its service.
func TestEventsJSONSchema_CacheSettings(t *testing.T) {
	sch := compileEvents(t)
	validate := func(b []byte) error {
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		return sch.Validate(v)
	}
	created := func(src schema.CacheSource) []byte {
		return envelope(t, schema.TypeServiceCreated, schema.ServiceCreated{ID: "edge", Name: "edge", Type: schema.ServiceCache,
			Settings: schema.ServiceSettings{Cache: &schema.CacheSettings{Source: src, Refresh: "1h", NegativeTTL: "1m"}}})
	}
	if err := validate(created(schema.CacheSource{Service: "photos"})); err != nil {
		t.Errorf("a service source: %v", err)
	}
	if err := validate(created(schema.CacheSource{URL: "http://127.0.0.1:8080/x"})); err != nil {
		t.Errorf("an origin: %v", err)
	}
	for name, src := range map[string]schema.CacheSource{"both": {Service: "photos", URL: "http://x/"}, "neither": {},
		"ftp": {URL: "ftp://x/"}} {
		if validate(created(src)) == nil {
			t.Errorf("source %s validates", name)
		}
	}
	flushed := envelope(t, schema.TypeCacheFlushed, schema.CacheFlushed{ID: "edge", Flushed: 3})
	noService := strings.Replace(string(flushed), `"service":"photos",`, "", 1)
	if validate([]byte(noService)) == nil {
		t.Errorf("a flush without its service validates: %s", noService)
	}
}

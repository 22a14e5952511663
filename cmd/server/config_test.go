package server

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDefault(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatalf("the defaults do not validate: %v", err)
	}
	want := Config{Data: "cairn-data", Listen: "127.0.0.1:8700", Sync: "always", InlineMax: 64 << 10,
		MaxObjectSize: 5 << 30, ReapInterval: Duration(time.Second), GCInterval: Duration(time.Hour),
		GCGrace: Duration(time.Hour), CheckpointInterval: Duration(time.Minute), ReplicationWait: Duration(20 * time.Second), RetainInterval: Duration(time.Minute), LogLevel: "info", Name: "cairn",
		UploadMaxAge: Duration(7 * 24 * time.Hour), UploadReapInterval: Duration(time.Hour), CheckpointOnStop: true,
		IdleTimeout: Duration(2 * time.Minute), HeaderTimeout: Duration(30 * time.Second), BodyTimeout: Duration(time.Minute),
		MinTransferRate: 1024, MaxAnonymousConns: 512, ScrubInterval: Duration(24 * time.Hour), ScrubRate: 16 << 20, DiskReserve: 256 << 20,
		SwiftRegion: "RegionOne"}
	c.Clock = nil
	if got, _ := json.Marshal(c); string(got) != string(mustJSON(t, want)) {
		t.Errorf("Default() = %s\nwant        %s", got, mustJSON(t, want))
	}
	if c.AdminKeyID != "" || c.AdminKey != "" {
		t.Errorf("the defaults carry an admin key")
	}
	if d, err := c.syncInterval(); d != 0 || err != nil {
		t.Errorf("default sync: interval %v, err %v; want always (0)", d, err)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "cairn.json")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConfig_LoadFile(t *testing.T) {
	t.Run("merges", func(t *testing.T) {
		c := Default()
		p := writeFile(t, `{"data": "/srv/cairn", "listen": "0.0.0.0:9000", "sync": "250ms",
			"reap_interval": "5s", "gc_grace": "30m", "inline_max": 1024, "log_level": "debug", "swift_region": "ru-1"}`)
		if err := c.LoadFile(p); err != nil {
			t.Fatalf("LoadFile: %v", err)
		}
		if c.Data != "/srv/cairn" || c.Listen != "0.0.0.0:9000" || c.Sync != "250ms" || c.InlineMax != 1024 || c.LogLevel != "debug" ||
			c.SwiftRegion != "ru-1" {
			t.Errorf("fields not loaded: %+v", c)
		}
		if time.Duration(c.ReapInterval) != 5*time.Second || time.Duration(c.GCGrace) != 30*time.Minute {
			t.Errorf("durations: reap %v grace %v", time.Duration(c.ReapInterval), time.Duration(c.GCGrace))
		}
		if c.Name != "cairn" || time.Duration(c.GCInterval) != time.Hour || c.MaxObjectSize != 5<<30 {
			t.Errorf("fields absent from the file lost their defaults: %+v", c)
		}
		if err := c.Validate(); err != nil {
			t.Errorf("Validate: %v", err)
		}
		if d, _ := c.syncInterval(); d != 250*time.Millisecond {
			t.Errorf("sync interval %v, want 250ms", d)
		}
	})
	t.Run("unknown field", func(t *testing.T) {
		c := Default()
		err := c.LoadFile(writeFile(t, `{"data": "x", "listne": "127.0.0.1:1"}`))
		if err == nil || !strings.Contains(err.Error(), "listne") {
			t.Fatalf("LoadFile with a misspelt field: %v, want an error naming it", err)
		}
	})
	t.Run("clock is not configurable", func(t *testing.T) {
		c := Default()
		if err := c.LoadFile(writeFile(t, `{"Clock": "now"}`)); err == nil {
			t.Fatalf("LoadFile accepted Clock")
		}
	})
	t.Run("bad duration", func(t *testing.T) {
		c := Default()
		if err := c.LoadFile(writeFile(t, `{"reap_interval": "often"}`)); err == nil {
			t.Fatalf("LoadFile accepted reap_interval \"often\"")
		}
		if err := c.LoadFile(writeFile(t, `{"reap_interval": 5}`)); err == nil {
			t.Fatalf("LoadFile accepted a number as a duration")
		}
	})
	t.Run("not JSON", func(t *testing.T) {
		c := Default()
		err := c.LoadFile(writeFile(t, `data = "x"`))
		if err == nil || !strings.Contains(err.Error(), "cairn.json") {
			t.Fatalf("LoadFile of a non-JSON file: %v, want an error naming the file", err)
		}
	})
	t.Run("missing file", func(t *testing.T) {
		c := Default()
		if err := c.LoadFile(filepath.Join(t.TempDir(), "none.json")); !os.IsNotExist(err) {
			t.Fatalf("LoadFile of a missing file: %v, want not-exist", err)
		}
	})
}

func TestConfig_LoadEnv(t *testing.T) {
	env := map[string]string{
		"CAIRN_DATA":         "/var/lib/cairn",
		"CAIRN_LISTEN":       "[::1]:8701",
		"CAIRN_ADMIN_KEY_ID": "CKADMINKEY0123456789",
		"CAIRN_ADMIN_KEY":    "a-long-enough-admin-secret",
		"CAIRN_SYNC":         "1s",
		"CAIRN_LOG_LEVEL":    "warn",
		"CAIRN_INLINE_MAX":   "4096",
		"CAIRN_SWIFT_REGION": "ru-1",
	}
	c := Default()
	if err := c.LoadEnv(func(k string) string { return env[k] }); err != nil {
		t.Fatalf("LoadEnv: %v", err)
	}
	if c.Data != "/var/lib/cairn" || c.Listen != "[::1]:8701" || c.AdminKeyID != "CKADMINKEY0123456789" ||
		c.AdminKey != "a-long-enough-admin-secret" || c.Sync != "1s" || c.LogLevel != "warn" || c.InlineMax != 4096 ||
		c.SwiftRegion != "ru-1" {
		t.Errorf("LoadEnv: %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}

	t.Run("empty variables change nothing", func(t *testing.T) {
		c := Default()
		if err := c.LoadEnv(func(string) string { return "" }); err != nil {
			t.Fatal(err)
		}
		if c.Data != "cairn-data" || c.Listen != "127.0.0.1:8700" || c.InlineMax != 64<<10 {
			t.Errorf("unset variables changed the config: %+v", c)
		}
	})
	t.Run("bad inline max", func(t *testing.T) {
		c := Default()
		err := c.LoadEnv(func(k string) string {
			if k == "CAIRN_INLINE_MAX" {
				return "64k"
			}
			return ""
		})
		if err == nil || !strings.Contains(err.Error(), "CAIRN_INLINE_MAX") {
			t.Fatalf("LoadEnv with CAIRN_INLINE_MAX=64k: %v", err)
		}
	})
}

func TestConfig_Validate(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string // substring of the error; "" = valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"admin key pair", func(c *Config) { c.AdminKeyID, c.AdminKey = "CKADMINKEY0123456789", "sixteen-chars-ok" }, ""},
		{"admin key id without key", func(c *Config) { c.AdminKeyID = "CKADMINKEY0123456789" }, "set both CAIRN_ADMIN_KEY_ID and CAIRN_ADMIN_KEY"},
		{"admin key without id", func(c *Config) { c.AdminKey = "a-long-enough-admin-secret" }, "set both"},
		{"admin key id malformed", func(c *Config) { c.AdminKeyID, c.AdminKey = "admin", "a-long-enough-admin-secret" }, "admin key id"},
		{"admin key too short", func(c *Config) { c.AdminKeyID, c.AdminKey = "CKADMINKEY0123456789", "short" }, "at least 16"},
		{"sync interval", func(c *Config) { c.Sync = "100ms" }, ""},
		{"sync word", func(c *Config) { c.Sync = "never" }, `sync "never"`},
		{"sync zero", func(c *Config) { c.Sync = "0s" }, `sync "0s"`},
		{"sync negative", func(c *Config) { c.Sync = "-1s" }, `sync "-1s"`},
		{"listen without port", func(c *Config) { c.Listen = "127.0.0.1" }, `listen "127.0.0.1"`},
		{"listen empty", func(c *Config) { c.Listen = "" }, "listen"},
		{"listen port only", func(c *Config) { c.Listen = ":8700" }, ""},
		{"data empty", func(c *Config) { c.Data = "" }, "data directory"},
		{"inline max too big", func(c *Config) { c.InlineMax = 2 << 20 }, "inline_max"},
		{"inline max negative", func(c *Config) { c.InlineMax = -1 }, "inline_max"},
		{"max object size", func(c *Config) { c.MaxObjectSize = 0 }, "max_object_size"},
		{"log level", func(c *Config) { c.LogLevel = "loud" }, `log level "loud"`},
		{"upload max age negative", func(c *Config) { c.UploadMaxAge = Duration(-time.Hour) }, "upload_max_age"},
		{"upload max age zero is never", func(c *Config) { c.UploadMaxAge = 0 }, ""},
		{"upload reap interval", func(c *Config) { c.UploadReapInterval = 0 }, "upload_reap_interval"},
		{"scrub interval negative", func(c *Config) { c.ScrubInterval = Duration(-time.Hour) }, "scrub_interval"},
		{"scrub off", func(c *Config) { c.ScrubInterval = 0 }, ""},
		{"scrub off, unbounded", func(c *Config) { c.ScrubInterval, c.ScrubRate = 0, 0 }, ""},
		{"scrub rate without interval", func(c *Config) { c.ScrubInterval, c.ScrubRate = 0, 1<<20 }, "scrub_rate is set but scrub_interval is 0"},
		{"scrub rate negative", func(c *Config) { c.ScrubRate = -1 }, "scrub_rate"},
		{"disk reserve too small", func(c *Config) { c.DiskReserve = 16<<20 - 1 }, "disk_reserve must be at least"},
		{"disk reserve at its minimum", func(c *Config) { c.DiskReserve = 16 << 20 }, ""},
		{"swift region", func(c *Config) { c.SwiftRegion = "ru-1" }, ""},
		{"swift region empty", func(c *Config) { c.SwiftRegion = "" }, `swift_region ""`},
		{"swift region with a space", func(c *Config) { c.SwiftRegion = "ru 1" }, `swift_region "ru 1"`},
		{"swift region too long", func(c *Config) { c.SwiftRegion = strings.Repeat("r", 65) }, "swift_region"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			tc.edit(&c)
			err := c.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Validate: %v, want nil", err)
			case tc.want != "" && err == nil:
				t.Fatalf("Validate: nil, want an error containing %q", tc.want)
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Fatalf("Validate: %v, want an error containing %q", err, tc.want)
			}
		})
	}

	t.Run("all errors at once", func(t *testing.T) {
		c := Default()
		c.AdminKeyID, c.Sync, c.Listen = "CKADMINKEY0123456789", "sometimes", "nowhere"
		err := c.Validate()
		if err == nil {
			t.Fatal("Validate: nil")
		}
		for _, want := range []string{"set both", `sync "sometimes"`, `listen "nowhere"`} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("joined error %q misses %q", err, want)
			}
		}
	})
}

func TestDuration_JSON(t *testing.T) {
	b, err := json.Marshal(Duration(90 * time.Second))
	if err != nil || string(b) != `"1m30s"` {
		t.Fatalf("Marshal: %s %v", b, err)
	}
	var d Duration
	if err := json.Unmarshal([]byte(`"1h30m"`), &d); err != nil || time.Duration(d) != 90*time.Minute {
		t.Fatalf("Unmarshal: %v %v", time.Duration(d), err)
	}
}

func TestConfig_Validate_timeouts(t *testing.T) {
	for name, edit := range map[string]func(*Config){
		"idle_timeout":        func(c *Config) { c.IdleTimeout = 0 },
		"header_timeout":      func(c *Config) { c.HeaderTimeout = -1 },
		"body_timeout":        func(c *Config) { c.BodyTimeout = 0 },
		"min_transfer_rate":   func(c *Config) { c.MinTransferRate = -1 },
		"max_anonymous_conns": func(c *Config) { c.MaxAnonymousConns = 0 },
	} {
		c := Default()
		edit(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: Validate() = %v, want an error naming it", name, err)
		}
	}
}

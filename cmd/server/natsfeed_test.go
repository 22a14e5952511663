package server

import (
	"testing"
)

func TestConfig_NATSListen(t *testing.T) {
	c := Default()
	if err := c.LoadEnv(func(k string) string {
		if k == "CAIRN_NATS_LISTEN" {
			return "127.0.0.1:0"
		}
		return ""
	}); err != nil || c.NATSListen != "127.0.0.1:0" {
		t.Fatalf("CAIRN_NATS_LISTEN: %q, %v", c.NATSListen, err)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("port 0: %v", err)
	}
	for _, bad := range []string{"4222", "localhost", ":4222", "127.0.0.1:x", "127.0.0.1:99999"} {
		c.NATSListen = bad
		if err := c.Validate(); err == nil {
			t.Errorf("nats_listen %q accepted", bad)
		}
	}
	c.NATSListen = ""
	if err := c.Validate(); err != nil {
		t.Errorf("no listener: %v", err)
	}
}

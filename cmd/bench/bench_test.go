package bench

import (
	"maps"
	"testing"
	"time"
)

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int{"4096": 4096, "4KiB": 4096, "4k": 4096, "1MiB": 1 << 20, "2M": 2 << 20, "512B": 512, "0": 0} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "x", "-1", "4XB"} {
		if _, err := ParseSize(bad); err == nil {
			t.Errorf("ParseSize(%q) accepted", bad)
		}
	}
}

func TestParseMixAndTarget(t *testing.T) {
	m, err := ParseMix("put=20,GET=70,list=5,delete=5")
	if err != nil || !maps.Equal(m, map[string]int{"put": 20, "get": 70, "list": 5, "delete": 5}) {
		t.Fatalf("ParseMix = %v, %v", m, err)
	}
	if _, err := ParseMix("put"); err == nil {
		t.Error("ParseMix accepted an entry without a weight")
	}
	tg, err := ParseTarget("name=minio,endpoint=http://127.0.0.1:9000,access-key=a,secret-key=s,bucket=b")
	if err != nil || tg != (Target{Name: "minio", Endpoint: "http://127.0.0.1:9000", AccessKey: "a", SecretKey: "s", Bucket: "b"}) {
		t.Fatalf("ParseTarget = %+v, %v", tg, err)
	}
	if _, err := ParseTarget("name=x"); err == nil {
		t.Error("a target without an endpoint was accepted")
	}
	o := Options{Targets: []Target{{Endpoint: "http://x"}}, Op: "mixed", Concurrency: 1, Count: 1}
	if err := o.check(); err == nil {
		t.Error(`"mixed" without a mix was accepted`)
	}
}

func TestPercentile(t *testing.T) {
	var lat []time.Duration
	for i := 1; i <= 1000; i++ {
		lat = append(lat, time.Duration(i)*time.Millisecond)
	}
	for p, want := range map[float64]time.Duration{0.5: 500 * time.Millisecond, 0.99: 990 * time.Millisecond, 0.999: 999 * time.Millisecond, 1: time.Second} {
		if got := Percentile(lat, p); got != want {
			t.Errorf("Percentile(%v) = %v, want %v", p, got, want)
		}
	}
	if Percentile(nil, 0.5) != 0 {
		t.Error("empty input")
	}
}

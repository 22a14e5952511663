package events_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/cairnhq/cairn/events"
	"github.com/cairnhq/cairn/schema"
)

// logHolds reports whether any event of the log holds s in its JSON.
func logHolds(t *testing.T, c *core, s string) bool {
	t.Helper()
	evs, err := c.log.Read(context.Background(), 0, []string{schema.SubjectRoot + ".>"}, 1000, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		b, err := ev.Encode()
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(s)) {
			return true
		}
	}
	return false
}

// Temp URL keys set on an account or a container never enter the log in
// clear: the events and the projections hold them sealed, RevealMeta
// opens them, and other metadata stays as it was sent.
func TestCore_SecretMetaSealed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newCore(t, events.Options{})
	const acctKey, acctKey2, contKey = "account-temp-url-secret", "account-second-secret", "container-temp-url-secret"

	a, err := c.svc.UpdateAccount(ctx, c.o, schema.DefaultAccount, func(a *schema.Account) error {
		a.Meta = map[string]string{"temp-url-key": acctKey, "temp-url-key-2": acctKey2, "color": "blue"}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"temp-url-key", "temp-url-key-2"} {
		if !strings.HasPrefix(a.Meta[k], events.SealedMetaPrefix) {
			t.Errorf("account meta %s = %q, want it sealed", k, a.Meta[k])
		}
	}
	if a.Meta["color"] != "blue" {
		t.Errorf("account meta color = %q, want blue (not a secret)", a.Meta["color"])
	}
	open := c.svc.RevealMeta(a.Meta)
	if open["temp-url-key"] != acctKey || open["temp-url-key-2"] != acctKey2 || open["color"] != "blue" {
		t.Errorf("RevealMeta = %v", open)
	}
	sealed := a.Meta["temp-url-key"]

	// an update that does not touch the key carries it on as it was
	a, err = c.svc.UpdateAccount(ctx, c.o, schema.DefaultAccount, func(a *schema.Account) error {
		a.Meta["color"] = "green"
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if a.Meta["temp-url-key"] != sealed {
		t.Errorf("an unrelated update changed the sealed key: %q, was %q", a.Meta["temp-url-key"], sealed)
	}

	// container keys, at creation and by update
	if _, err := c.svc.CreateService(ctx, c.o, events.ServiceInput{ID: "tempurl",
		Settings: schema.ServiceSettings{Meta: map[string]string{"Temp-URL-Key": contKey}}}); err != nil {
		t.Fatal(err)
	}
	svc, err := c.svc.UpdateService(ctx, c.o, "tempurl", func(s *schema.Service) error {
		s.Settings.Meta["temp-url-key-2"] = contKey + "-2"
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if open := c.svc.RevealMeta(svc.Settings.Meta); open["Temp-URL-Key"] != contKey || open["temp-url-key-2"] != contKey+"-2" {
		t.Errorf("container RevealMeta = %v", open)
	}

	for _, secret := range []string{acctKey, acctKey2, contKey} {
		if logHolds(t, c, secret) {
			t.Errorf("the log holds %q in clear", secret)
		}
	}
	if !logHolds(t, c, "green") {
		t.Errorf("the log does not hold the account's other metadata (the search is broken)")
	}
}

// A value written before sealing (clear in an old event) reads as it is,
// and the next write that carries it seals it; a sealed value that does
// not open is no value at all, never its sealed text.
func TestSealer_MetaLegacyAndDamage(t *testing.T) {
	t.Parallel()
	s, err := events.NewSealer(bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	other, err := events.NewSealer(bytes.Repeat([]byte{2}, 32))
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := s.OpenMeta("legacy-clear"); !ok || v != "legacy-clear" {
		t.Errorf("OpenMeta(clear) = %q, %v", v, ok)
	}
	old := map[string]string{"temp-url-key": "legacy-clear", "note": "x"}
	out := s.SealMeta(old, map[string]string{"temp-url-key": "legacy-clear", "note": "x"})
	if !strings.HasPrefix(out["temp-url-key"], events.SealedMetaPrefix) || out["note"] != "x" {
		t.Fatalf("SealMeta of a legacy clear value = %v, want it sealed", out)
	}
	if v, ok := s.OpenMeta(out["temp-url-key"]); !ok || v != "legacy-clear" {
		t.Errorf("OpenMeta(sealed) = %q, %v", v, ok)
	}
	if v, ok := other.OpenMeta(out["temp-url-key"]); ok || v != "" {
		t.Errorf("OpenMeta with another secret = %q, %v; want nothing", v, ok)
	}
	if v, ok := s.OpenMeta(events.SealedMetaPrefix + "not base64!"); ok || v != "" {
		t.Errorf("OpenMeta(damaged) = %q, %v; want nothing", v, ok)
	}
	// a value sent that only looks sealed is sealed like any other
	fake := events.SealedMetaPrefix + "AAAA"
	if got := s.SealMeta(nil, map[string]string{"temp-url-key": fake}); got["temp-url-key"] == fake {
		t.Errorf("SealMeta kept a sent value that looks sealed as it was")
	}
}

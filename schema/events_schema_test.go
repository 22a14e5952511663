package schema_test

import (
	"bytes"
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/cairnhq/cairn/schema"
	"github.com/cairnhq/cairn/schema/schematest"
)

// eventsDoc returns events.schema.json decoded into plain maps.
func eventsDoc(t *testing.T) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(schema.EventsJSONSchema, &doc); err != nil {
		t.Fatalf("events.schema.json is not JSON: %v", err)
	}
	return doc
}

// compileEvents compiles events.schema.json (against the 2020-12
// meta-schema) with format and content assertions on.
func compileEvents(t *testing.T) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schema.EventsJSONSchema))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	c.AssertContent()
	const url = "https://github.com/cairnhq/cairn/schema/events.schema.json"
	if err := c.AddResource(url, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(url)
	if err != nil {
		t.Fatalf("events.schema.json does not compile: %v", err)
	}
	return sch
}

func TestEventsJSONSchema_Compiles(t *testing.T) {
	compileEvents(t)
}

// Every type of schema.EventTypes has a payload schema and a oneOf branch,
// and nothing else does.
func TestEventsJSONSchema_Types(t *testing.T) {
	doc := eventsDoc(t)
	want := slices.Sorted(maps.Keys(schema.EventTypes))

	defs := doc["$defs"].(map[string]any)
	var payloads []string
	for name := range defs {
		if strings.Contains(name, ".v") { // payload schemas are named by type: "object.put.v1"
			payloads = append(payloads, name)
		}
	}
	slices.Sort(payloads)
	if !slices.Equal(payloads, want) {
		t.Errorf("payload schemas in $defs = %v, want schema.EventTypes %v", payloads, want)
	}

	enum := strs(t, doc["properties"].(map[string]any)["type"].(map[string]any)["enum"])
	slices.Sort(enum)
	if !slices.Equal(enum, want) {
		t.Errorf("properties.type.enum = %v, want %v", enum, want)
	}

	var branches []string
	for _, b := range doc["oneOf"].([]any) {
		props := b.(map[string]any)["properties"].(map[string]any)
		typ := props["type"].(map[string]any)["const"].(string)
		branches = append(branches, typ)
		if got := props["data"].(map[string]any)["$ref"]; got != "#/$defs/"+typ {
			t.Errorf("oneOf branch %s: data $ref = %v, want #/$defs/%s", typ, got, typ)
		}
	}
	slices.Sort(branches)
	if !slices.Equal(branches, want) {
		t.Errorf("oneOf branches = %v, want %v", branches, want)
	}
}

// The property names of each schema are the JSON names of its Go type
// (nested structs too), required names are exactly the fields that are
// always written (no omitempty), and JSON types agree.
func TestEventsJSONSchema_MatchesGoTypes(t *testing.T) {
	doc := eventsDoc(t)
	schematest.CheckStruct(t, doc, doc, reflect.TypeFor[schema.Event](), "Event")
	defs := doc["$defs"].(map[string]any)
	for typ, payload := range schema.EventTypes {
		node, ok := defs[typ]
		if !ok {
			t.Errorf("no payload schema for %s", typ)
			continue
		}
		schematest.CheckStruct(t, doc, node, reflect.TypeOf(payload), typ)
	}
}

// sampleEvents are filled events of every type, as the core writes them.
func sampleEvents() map[string]any {
	inline := []byte("hello, world")
	const sha = "09ca7e4eaa6e8ae9c7d261167129184883644d07dfba7cbfbc4c8a2e08360d5b"
	return map[string]any{
		schema.TypeObjectPut: schema.ObjectPut{Version: "01JD0000000000000000000001", Size: 12, ETag: "e4d7f1b4ed2e42d15898f4b27b019da4",
			ContentType: "text/plain", Meta: map[string]string{"color": "blue"}, DeleteAt: 1893456000,
			Headers: map[string]string{"cache-control": "no-cache"}, Blob: schema.BlobRef{SHA256: sha, Inline: inline},
			Multipart: &schema.MultipartDone{Upload: "01JD0000000000000000000007",
				Parts: []schema.PartDone{{Number: 1, Size: 12, ETag: "e4d7f1b4ed2e42d15898f4b27b019da4"}}}},
		schema.TypeObjectDelete: schema.ObjectDelete{Version: "01JD0000000000000000000002"},
		schema.TypeObjectCopy: schema.ObjectCopy{Version: "01JD0000000000000000000003",
			From: schema.ObjectRef{Service: "photos", Path: "a/b.txt", Version: "01JD0000000000000000000001"},
			Size: 12, ETag: "e4d7f1b4ed2e42d15898f4b27b019da4", ContentType: "text/plain", Meta: map[string]string{"k": "v"},
			DeleteAt: 1893456000, Blob: schema.BlobRef{SHA256: sha, InSeq: 41},
			Segments: []schema.Segment{{Service: "photos", Path: "big/0001", Version: "01JD0000000000000000000006", Size: 12,
				ETag: "e4d7f1b4ed2e42d15898f4b27b019da4", ContentType: "text/plain", Blob: schema.BlobRef{SHA256: sha}},
				{Service: "photos", Path: "big/nested", Version: "01JD0000000000000000000008", Size: 24,
					ETag: "e4d7f1b4ed2e42d15898f4b27b019da5", Manifest: true}},
			ManifestDepth: 2},
		schema.TypeObjectMeta: schema.ObjectMeta{Version: "01JD0000000000000000000004", ContentType: "text/html",
			Meta: map[string]string{"k": "w"}, DeleteAt: 1893456000},
		schema.TypeObjectExpired: schema.ObjectExpired{Version: "01JD0000000000000000000005", Expired: "01JD0000000000000000000004"},
		schema.TypeServiceCreated: schema.ServiceCreated{ID: "photos", Name: "Photos", Type: schema.ServiceStorage,
			Settings: schema.ServiceSettings{KeepVersions: "720h", Versioning: "Enabled", Meta: map[string]string{"x": "y"},
				ReadACL: []string{".r:*", ".rlistings", "other"}, WriteACL: []string{"other:CKABCDEFGHIJKLMNOPQR"}, Policy: "cold",
				Replica: &schema.ReplicaOf{Source: "eu-primary", SID: "photos"}}},
		schema.TypeServiceCreatedV2: schema.ServiceCreatedV2{ID: "acme/photos", Name: "photos", Container: "photos",
			Type: schema.ServiceStorage, Settings: schema.ServiceSettings{Policy: "cold"}},
		schema.TypeServiceUpdated: schema.ServiceUpdated{ID: "photos", Name: "Pictures", Settings: schema.ServiceSettings{KeepVersions: "forever",
			Cache: &schema.CacheSettings{Source: schema.CacheSource{URL: "https://origin.example.com/static"}, SourcePath: "v2",
				Refresh: "10m", ExpireUnused: "24h", MaxBytes: 1 << 30, NegativeTTL: "30s"}}},
		schema.TypeCacheFlushed: schema.CacheFlushed{ID: "photos", Flushed: 42},
		schema.TypeBlobRepaired: schema.BlobRepaired{SHA256: sha, Size: 12, Source: "eu-primary",
			From: schema.ObjectRef{Service: "photos", Path: "a/b.txt", Version: "01JD0000000000000000000001"}},
		schema.TypeServiceDeleted: schema.ServiceDeleted{ID: "photos"},
		schema.TypeQuotaSet:       schema.QuotaSet{Bytes: 1 << 30, Count: 1000},
		schema.TypeKeyCreated: schema.KeyCreated{ID: "CKABCDEFGHIJKLMNOPQR", Name: "ci", Admin: true,
			Access: map[string]string{"*": "read", "photos": "write"}, Login: "ci.bot@ops", Sealed: bytes.Repeat([]byte{0xa5}, 12+40+16),
			Lookup: sha},
		schema.TypeKeyRevoked:     schema.KeyRevoked{ID: "CKABCDEFGHIJKLMNOPQR"},
		schema.TypeAccountCreated: schema.AccountCreated{ID: "acme", Name: "ACME"},
		schema.TypeAccountDeleted: schema.AccountDeleted{ID: "acme"},
		schema.TypeAccountUpdated: schema.AccountUpdated{ID: "acme", Name: "ACME", Meta: map[string]string{"owner": "ops"}},
		schema.TypeTokenIssued:    schema.TokenIssued{ID: "CKABCDEFGHIJKLMNOPQR", Lookup: sha},
		schema.TypeSourceCreated: schema.SourceCreated{Name: "eu-primary", URL: "https://cairn.example.com",
			Sealed: bytes.Repeat([]byte{0xa5}, 12+40+16)},
		schema.TypeSourceDeleted:   schema.SourceDeleted{Name: "eu-primary"},
		schema.TypeServiceResynced: schema.ServiceResynced{ID: "photos", SyncID: 40, ResyncedAt: 42},
		schema.TypeCheckpoint: schema.Checkpoint{Seq: 41, Chain: sha, Key: sha,
			Sig: sha + sha},
		schema.TypeObjectPurged: schema.ObjectPurged{Version: "01JD0000000000000000000008", Purged: "01JD0000000000000000000001"},
		schema.TypeUploadCreated: schema.UploadCreated{Upload: "01JD0000000000000000000007", ContentType: "video/mp4",
			Meta: map[string]string{"k": "v"}, Headers: map[string]string{"cache-control": "max-age=60"}},
		schema.TypeUploadPart: schema.UploadPart{Upload: "01JD0000000000000000000007", Number: 2, Size: 5 << 20,
			ETag: "e4d7f1b4ed2e42d15898f4b27b019da4", SHA256: sha},
		schema.TypeUploadAborted: schema.UploadAborted{Upload: "01JD0000000000000000000007"},
		schema.TypeFeedCredCreated: schema.FeedCredCreated{User: "CFABCDEFGHIJKLMNOPQR", Name: "billing consumer",
			Verifier: sha},
		schema.TypeFeedCredRevoked: schema.FeedCredRevoked{User: "CFABCDEFGHIJKLMNOPQR"},
	}
}

// envelope wraps a payload in an event as the core builds it.
func envelope(t *testing.T, typ string, payload any) []byte {
	t.Helper()
	data, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	ev := schema.Event{Type: typ, ID: "01JD0000000000000000000009", Time: time.Date(2025, 1, 31, 12, 0, 0, 123456000, time.UTC),
		Actor: schema.Actor{KeyID: "CKABCDEFGHIJKLMNOPQR", Dialect: "native", Addr: "192.0.2.1"}, RequestID: "0123456789ABCDEF01234567",
		Account: schema.DefaultAccount, Data: data}
	switch {
	case strings.HasPrefix(typ, "object."), strings.HasPrefix(typ, "upload."):
		ev.Service, ev.Path = "photos", "a/b.txt"
	case strings.HasPrefix(typ, "service."), strings.HasPrefix(typ, "cache."), strings.HasPrefix(typ, "blob."), typ == schema.TypeQuotaSet:
		ev.Service = "photos"
	}
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestEventsJSONSchema_Samples(t *testing.T) {
	sch := compileEvents(t)
	samples := sampleEvents()
	if got, want := slices.Sorted(maps.Keys(samples)), slices.Sorted(maps.Keys(schema.EventTypes)); !slices.Equal(got, want) {
		t.Fatalf("samples cover %v, want every event type %v", got, want)
	}
	validate := func(b []byte) error {
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		return sch.Validate(v)
	}
	for typ, payload := range samples {
		t.Run(typ, func(t *testing.T) {
			if reflect.TypeOf(payload) != reflect.TypeOf(schema.EventTypes[typ]) {
				t.Fatalf("sample is a %T, %s carries a %T", payload, typ, schema.EventTypes[typ])
			}
			if err := validate(envelope(t, typ, payload)); err != nil {
				t.Errorf("filled sample does not validate: %v", err)
			}
			// The same payload with only the fields that are always written.
			minimal := reflect.New(reflect.TypeOf(payload)).Elem()
			full := reflect.ValueOf(payload)
			for i := range minimal.NumField() {
				if _, omit := schematest.JSONName(minimal.Type().Field(i)); !omit {
					minimal.Field(i).Set(full.Field(i))
				}
			}
			if err := validate(envelope(t, typ, minimal.Interface())); err != nil {
				t.Errorf("sample without optional fields does not validate: %v", err)
			}
		})
	}
}

// The schema rejects what the core never writes.
func TestEventsJSONSchema_Rejects(t *testing.T) {
	sch := compileEvents(t)
	good := envelope(t, schema.TypeObjectPut, sampleEvents()[schema.TypeObjectPut])
	edit := func(fn func(ev map[string]any)) []byte {
		var ev map[string]any
		if err := json.Unmarshal(good, &ev); err != nil {
			t.Fatal(err)
		}
		fn(ev)
		b, _ := json.Marshal(ev)
		return b
	}
	cases := map[string][]byte{
		"unknown type":          edit(func(ev map[string]any) { ev["type"] = "object.rename.v1" }),
		"payload of other type": edit(func(ev map[string]any) { ev["type"] = schema.TypeObjectDelete }),
		"object event without path": edit(func(ev map[string]any) {
			delete(ev, "path")
		}),
		"unknown envelope field": edit(func(ev map[string]any) { ev["seq"] = 7 }),
		"unknown payload field":  edit(func(ev map[string]any) { ev["data"].(map[string]any)["owner"] = "x" }),
		"missing payload field":  edit(func(ev map[string]any) { delete(ev["data"].(map[string]any), "etag") }),
		"bad id":                 edit(func(ev map[string]any) { ev["id"] = "not-a-ulid" }),
		"bad time":               edit(func(ev map[string]any) { ev["time"] = "yesterday" }),
		"inline not base64": edit(func(ev map[string]any) {
			ev["data"].(map[string]any)["blob"].(map[string]any)["inline"] = "%%%"
		}),
		"large object nested past 10": func() []byte {
			b := envelope(t, schema.TypeObjectCopy, sampleEvents()[schema.TypeObjectCopy])
			var ev map[string]any
			_ = json.Unmarshal(b, &ev)
			ev["data"].(map[string]any)["manifest_depth"] = 11
			b, _ = json.Marshal(ev)
			return b
		}(),
		"clear key value": func() []byte {
			b := envelope(t, schema.TypeKeyCreated, sampleEvents()[schema.TypeKeyCreated])
			var ev map[string]any
			_ = json.Unmarshal(b, &ev)
			ev["data"].(map[string]any)["value"] = "the-secret"
			b, _ = json.Marshal(ev)
			return b
		}(),
	}
	for name, b := range cases {
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if sch.Validate(v) == nil {
			t.Errorf("%s: validates, want an error: %s", name, b)
		}
	}
}

// strs returns a JSON array of strings.
func strs(t *testing.T, v any) []string {
	t.Helper()
	var out []string
	if v == nil {
		return nil
	}
	for _, s := range v.([]any) {
		out = append(out, s.(string))
	}
	return out
}

package events

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/cairnhq/cairn/schema"
)

// decode's fast path gives exactly what encoding/json gives, for events as
// Encode writes them and for shapes it must leave to the full decoder.
func TestDecode_FastPathEqualsJSON(t *testing.T) {
	at := time.Date(2026, 11, 22, 10, 0, 0, 123456000, time.UTC)
	payload, _ := json.Marshal(schema.ObjectPut{Version: "v", Size: 3, ETag: "e", ContentType: "text/plain",
		Meta: map[string]string{"k": `,"data":{"x":1}`}, Blob: schema.BlobRef{SHA256: "s", Inline: []byte("abc")}})
	evs := []*schema.Event{
		{Type: schema.TypeObjectPut, ID: "01", Time: at, Actor: schema.Actor{KeyID: "K", Dialect: "s3", Addr: "127.0.0.1"},
			RequestID: "r", Account: "default", Service: "svc", Path: `odd ,"data": path "quoted" \ back`, Data: payload},
		{Type: schema.TypeServiceDeleted, ID: "02", Time: at, Account: "default", Data: json.RawMessage(`{"id":"x"}`)},
		{Type: schema.TypeKeyRevoked, ID: "03", Time: at, Account: "default"}, // no payload: "data":null
	}
	for _, ev := range evs {
		raw, err := ev.Encode()
		if err != nil {
			t.Fatal(err)
		}
		var want schema.Event
		if err := json.Unmarshal(raw, &want); err != nil {
			t.Fatal(err)
		}
		var got schema.Event
		if !decodeFast(raw, &got) {
			t.Fatalf("fast path refused %s", raw)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("fast decode of %s\n got %+v\nwant %+v", raw, got, want)
		}
	}
	for _, raw := range []string{
		`{"type":"x","data":{"a":1},"id":"later"}`,             // payload not last
		`{"type":"x","data":{"a":"}"},"actor":{"key_id":"k"}}`, // not last, ends with a brace
		`{"type":"x"}`,                    // no payload
		`{"type":"x","data":[1]}`,         // not an object
		`{"type":"x","data":"s"}`,         // not an object
		`{"type":"x" "broken","data":{}}`, // bad envelope
	} {
		var ev schema.Event
		if decodeFast([]byte(raw), &ev) {
			t.Errorf("fast path accepted %s", raw)
		}
	}
	// a payload that is not last falls back to the full decoder, which keeps every field
	ev, err := decode([]byte(`{"type":"x","data":{"a":1},"id":"later"}`), 7)
	if err != nil || ev.ID != "later" || string(ev.Data) != `{"a":1}` || ev.Seq != 7 {
		t.Fatalf("decode = %+v, %v", ev, err)
	}
}

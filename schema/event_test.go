package schema

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

func TestEvent_Encode(t *testing.T) {
	payload, _ := json.Marshal(ObjectPut{Version: "v", Size: 3, ETag: "e", ContentType: "text/plain",
		Meta: map[string]string{"k": "a \"quoted\" <value>"}, Blob: BlobRef{SHA256: "s", Inline: []byte("abc")}})
	for _, ev := range []Event{
		{Type: TypeObjectPut, ID: "01J", Time: time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC), Actor: Actor{KeyID: "K", Dialect: "native", Addr: "127.0.0.1"},
			RequestID: "R", Account: "default", Service: "svc", Path: "a/b <&> \u00e9\u2028", Data: payload},
		{Type: TypeAccountCreated, ID: "01K", Time: time.Unix(0, 0).UTC(), Account: "default"},
	} {
		want, err := json.Marshal(&ev)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ev.Encode()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("Encode differs from json.Marshal:\n got %s\nwant %s", got, want)
		}
		var back Event
		if err := json.Unmarshal(got, &back); err != nil || back.Path != ev.Path {
			t.Fatalf("round trip: %v, %+v", err, back)
		}
	}
}

package projections

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/cairnhq/cairn/schema"
)

// withoutInline only ever removes the blob's inline bytes: the rest of the
// payload decodes to exactly what the full payload gives.
func TestWithoutInline(t *testing.T) {
	sha := strings.Repeat("ab", 32)
	for _, p := range []schema.ObjectPut{
		{Version: "v", Size: 5, ETag: "e", ContentType: "text/plain", Blob: schema.BlobRef{SHA256: sha, Inline: []byte("hello")}},
		{Version: "v", Size: 5, ETag: "e", Meta: map[string]string{"inline": `","inline":"`, "blob": `"blob":{"sha256":"`},
			Headers: map[string]string{"x": "y"}, Blob: schema.BlobRef{SHA256: sha, Inline: []byte("hello")}, Null: true,
			Multipart: &schema.MultipartDone{Upload: "u", Parts: []schema.PartDone{{Number: 1, Size: 5, ETag: "e"}}}},
		{Version: "v", Size: 0, Blob: schema.BlobRef{SHA256: sha}},                                         // empty: no inline
		{Version: "v", Size: 9, Meta: map[string]string{"inline": "x"}, Blob: schema.BlobRef{SHA256: sha}}, // in the blobstore
		{Version: "v", Size: 9, Blob: schema.BlobRef{SHA256: sha, InSeq: 4}},
	} {
		data, _ := json.Marshal(p)
		var full, cut putView
		if err := json.Unmarshal(data, &full); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(withoutInline(data), &cut); err != nil {
			t.Fatalf("%s: %v", withoutInline(data), err)
		}
		if (len(full.Blob.Inline) > 0) != (len(cut.Blob.Inline) > 0) {
			t.Errorf("inline presence changed for %s", data)
		}
		full.Blob.Inline, cut.Blob.Inline = nil, nil
		if !reflect.DeepEqual(full, cut) {
			t.Errorf("payload changed:\n%+v\n%+v", full, cut)
		}
	}
}

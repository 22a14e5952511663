package projections

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/cairnhq/cairn/schema"
)

// baseTime is the time of the first event a logBuilder writes.
var baseTime = time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)

// logBuilder writes a log in Go, for the query and model tests: sequences
// grow by one from 1, an event's id is "e<seq>" (and is the version id of
// an object event, as in events.Core), and each event happens step after
// the previous one (one second unless changed; 0 gives equal times).
type logBuilder struct {
	seq    uint64
	now    time.Time
	step   time.Duration
	events []*schema.Event
}

func newLog() *logBuilder { return &logBuilder{now: baseTime, step: time.Second} }

// add appends an event of account "default" with payload as its data.
func (b *logBuilder) add(typ, service, path string, payload any) *schema.Event {
	b.seq++
	b.now = b.now.Add(b.step)
	data, err := json.Marshal(payload)
	if err != nil {
		panic(err)
	}
	ev := &schema.Event{Type: typ, ID: fmt.Sprintf("e%d", b.seq), Time: b.now,
		Actor: schema.Actor{KeyID: "tester"}, Account: schema.DefaultAccount,
		Service: service, Path: path, Data: data, Seq: b.seq}
	b.events = append(b.events, ev)
	return ev
}

// nextID is the id (and version) of the next event.
func (b *logBuilder) nextID() string { return fmt.Sprintf("e%d", b.seq+1) }

func (b *logBuilder) account(id string) {
	ev := b.add(schema.TypeAccountCreated, "", "", schema.AccountCreated{ID: id, Name: id})
	ev.Account = id
}

func (b *logBuilder) service(id string) {
	b.add(schema.TypeServiceCreated, id, "", schema.ServiceCreated{ID: id, Name: id, Type: schema.ServiceStorage})
}

func (b *logBuilder) deleteService(id string) {
	b.add(schema.TypeServiceDeleted, id, "", schema.ServiceDeleted{ID: id})
}

// put stores size bytes kept in the blobstore under digest.
func (b *logBuilder) put(service, path string, size int64, digest string, deleteAt int64) string {
	v := b.nextID()
	b.add(schema.TypeObjectPut, service, path, schema.ObjectPut{Version: v, Size: size,
		ETag: etagOf(digest), ContentType: "application/octet-stream", DeleteAt: deleteAt,
		Blob: schema.BlobRef{SHA256: digest}})
	return v
}

// putInline stores data inside the event.
func (b *logBuilder) putInline(service, path string, data []byte, deleteAt int64) string {
	v := b.nextID()
	d := digestOf(string(data))
	b.add(schema.TypeObjectPut, service, path, schema.ObjectPut{Version: v, Size: int64(len(data)),
		ETag: etagOf(d), ContentType: "text/plain", DeleteAt: deleteAt,
		Blob: schema.BlobRef{SHA256: d, Inline: data}})
	return v
}

func (b *logBuilder) del(service, path string) string {
	v := b.nextID()
	b.add(schema.TypeObjectDelete, service, path, schema.ObjectDelete{Version: v})
	return v
}

// copy copies the version src (as the projections hold it) to service/path.
func (b *logBuilder) copy(service, path string, src *schema.Version, deleteAt int64) string {
	v := b.nextID()
	b.add(schema.TypeObjectCopy, service, path, schema.ObjectCopy{Version: v,
		From: schema.ObjectRef{Service: src.Service, Path: src.Path, Version: src.Version},
		Size: src.Size, ETag: src.ETag, ContentType: src.ContentType, Meta: src.Meta, DeleteAt: deleteAt,
		Blob: schema.BlobRef{SHA256: src.Blob.SHA256, InSeq: src.Blob.InSeq}})
	return v
}

func (b *logBuilder) meta(service, path, contentType string, meta map[string]string, deleteAt int64) string {
	v := b.nextID()
	b.add(schema.TypeObjectMeta, service, path, schema.ObjectMeta{Version: v, ContentType: contentType,
		Meta: meta, DeleteAt: deleteAt})
	return v
}

func (b *logBuilder) expire(service, path, expired string) string {
	v := b.nextID()
	ev := b.add(schema.TypeObjectExpired, service, path, schema.ObjectExpired{Version: v, Expired: expired})
	ev.Actor.KeyID = schema.ActorReaper
	return v
}

// digestOf returns a readable fake SHA-256 digest for a name: the hex of
// its first 32 bytes, padded with zeros (not a real digest, but a valid one).
func digestOf(name string) string {
	h := fmt.Sprintf("%x", name)
	if len(h) > 64 {
		h = h[:64]
	}
	return h + strings.Repeat("0", 64-len(h))
}

func etagOf(digest string) string { return "etag-" + digest[:8] }

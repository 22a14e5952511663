package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// feedEvent is the part of a feed event that history and audit show.
type feedEvent struct {
	Seq   uint64    `json:"seq"`
	Type  string    `json:"type"`
	Time  time.Time `json:"time"`
	Actor struct {
		KeyID   string `json:"key_id"`
		Dialect string `json:"dialect"`
		Addr    string `json:"addr"`
	} `json:"actor"`
	RequestID string          `json:"request_id"`
	Account   string          `json:"account"`
	Service   string          `json:"service"`
	Path      string          `json:"path"`
	Data      json.RawMessage `json:"data"`
}

// objectRef names one version of one object (a copy's source).
type objectRef struct {
	Service string `json:"service"`
	Path    string `json:"path"`
	Version string `json:"version"`
}

// eventData is the union of the payload fields history and audit read.
type eventData struct {
	Version     string     `json:"version"`
	Size        *int64     `json:"size"`
	ETag        string     `json:"etag"`
	ContentType string     `json:"content_type"`
	DeleteAt    int64      `json:"delete_at"`
	From        *objectRef `json:"from"`
	Expired     string     `json:"expired"`
	Purged      string     `json:"purged"`
	Upload      string     `json:"upload"`
	Number      int        `json:"number"`
	Bytes       *int64     `json:"bytes"`
	Count       *int64     `json:"count"`
	Name        string     `json:"name"`
	Multipart   *struct {
		Parts []json.RawMessage `json:"parts"`
	} `json:"multipart"`
	Segments []json.RawMessage `json:"segments"`
	Flushed  *int64            `json:"flushed"`
}

// row is one event as history and audit print it (and --json writes it).
type row struct {
	Time      time.Time  `json:"time"`
	Seq       uint64     `json:"seq"`
	Type      string     `json:"type"`
	Op        string     `json:"op"`
	Service   string     `json:"service,omitempty"`
	Path      string     `json:"path,omitempty"`
	Version   string     `json:"version,omitempty"`
	Size      *int64     `json:"size,omitempty"`
	ETag      string     `json:"etag,omitempty"`
	Actor     string     `json:"actor"`
	Dialect   string     `json:"dialect,omitempty"`
	Addr      string     `json:"addr,omitempty"`
	RequestID string     `json:"request_id,omitempty"`
	From      *objectRef `json:"from,omitempty"`
	Detail    string     `json:"detail,omitempty"`
}

// opOf names an event type in a table: object ops as syncnext names them,
// other types without their version.
func opOf(typ string) string {
	switch typ {
	case "object.put.v1":
		return "put"
	case "object.delete.v1":
		return "delete"
	case "object.copy.v1":
		return "copy"
	case "object.meta.v1":
		return "meta"
	case "object.expired.v1":
		return "expire"
	case "object.purged.v1":
		return "purge"
	}
	return strings.TrimSuffix(typ, ".v1")
}

// rowOf reads an event into a row. content is the object's last content
// (size and ETag), which a metadata-only change keeps; rowOf updates it.
func rowOf(ev *feedEvent, content *row) row {
	r := row{Time: ev.Time, Seq: ev.Seq, Type: ev.Type, Op: opOf(ev.Type), Service: ev.Service, Path: ev.Path,
		Actor: ev.Actor.KeyID, Dialect: ev.Actor.Dialect, Addr: ev.Actor.Addr, RequestID: ev.RequestID}
	var d eventData
	_ = json.Unmarshal(ev.Data, &d) // a payload of another shape shows less
	r.Version = d.Version
	var details []string
	switch ev.Type {
	case "object.put.v1", "object.copy.v1":
		r.Size, r.ETag, r.From = d.Size, d.ETag, d.From
		if d.From != nil {
			details = append(details, fmt.Sprintf("from %s/%s@%s", d.From.Service, d.From.Path, d.From.Version))
		}
		if d.Multipart != nil {
			details = append(details, fmt.Sprintf("multipart, %d parts", len(d.Multipart.Parts)))
		}
		if len(d.Segments) > 0 {
			details = append(details, fmt.Sprintf("large object, %d segments", len(d.Segments)))
		}
		if content != nil {
			*content = r
		}
	case "object.meta.v1":
		details = append(details, "metadata only")
		if content != nil && content.Size != nil {
			r.Size, r.ETag = content.Size, content.ETag
		}
	case "object.expired.v1":
		details = append(details, "expired "+d.Expired)
	case "object.purged.v1":
		details = append(details, "removed version "+d.Purged)
	case "upload.created.v1", "upload.aborted.v1":
		details = append(details, "upload "+d.Upload)
	case "upload.part.v1":
		r.Size, r.ETag = d.Size, d.ETag
		details = append(details, fmt.Sprintf("upload %s part %d", d.Upload, d.Number))
	case "quota.set.v1":
		details = append(details, fmt.Sprintf("quota bytes %d, count %d", derefInt(d.Bytes), derefInt(d.Count)))
	case "service.created.v1", "service.updated.v1":
		if d.Name != "" {
			details = append(details, "name "+strconv.Quote(d.Name))
		}
	case "cache.flushed.v1":
		details = append(details, fmt.Sprintf("flushed %d cached files", derefInt(d.Flushed)))
	}
	if d.ContentType != "" && ev.Type != "upload.created.v1" {
		details = append(details, d.ContentType)
	}
	if d.DeleteAt > 0 {
		details = append(details, "expires "+time.Unix(d.DeleteAt, 0).UTC().Format(time.RFC3339))
	}
	r.Detail = strings.Join(details, "; ")
	return r
}

func derefInt(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

// table prints rows aligned, with the columns cols names.
type table struct {
	tw     *tabwriter.Writer
	cols   []string
	asJSON bool
	out    io.Writer
}

func newTable(out io.Writer, asJSON bool, cols ...string) *table {
	t := &table{tw: tabwriter.NewWriter(out, 0, 0, 2, ' ', 0), cols: cols, asJSON: asJSON, out: out}
	if !asJSON {
		fmt.Fprintln(t.tw, strings.ToUpper(strings.Join(cols, "\t")))
	}
	return t
}

func (t *table) add(r row) error {
	if t.asJSON {
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		_, err = t.out.Write(append(b, '\n'))
		return err
	}
	cells := make([]string, 0, len(t.cols))
	for _, c := range t.cols {
		cells = append(cells, cell(r, c))
	}
	_, err := fmt.Fprintln(t.tw, strings.Join(cells, "\t"))
	return err
}

func (t *table) flush() error { return t.tw.Flush() }

// cell is one column of a row as the table shows it ("-" for nothing).
func cell(r row, col string) string {
	v := ""
	switch col {
	case "time":
		v = r.Time.UTC().Format("2006-01-02T15:04:05.000Z")
	case "seq":
		v = strconv.FormatUint(r.Seq, 10)
	case "op":
		v = r.Op
	case "service":
		v = r.Service
	case "path":
		v = r.Path
	case "version":
		v = r.Version
	case "size":
		if r.Size != nil {
			v = strconv.FormatInt(*r.Size, 10)
		}
	case "etag":
		v = r.ETag
	case "actor":
		v = r.Actor
	case "dialect":
		v = r.Dialect
	case "client":
		v = r.Addr
	case "request":
		v = r.RequestID
	case "detail":
		v = r.Detail
	}
	if v == "" {
		return "-"
	}
	return v
}

const historyUsage = `usage: cairn history --sid S --path P [--json] [--url URL --key KEY]

Prints every change of one object, oldest first: content (put), metadata
only (meta), copies with their source, deletes, expiry (by "reaper") and
purges, with time, sequence, version, size, ETag, the actor's key id,
dialect and client address, and the request id. --json prints one JSON
object per line.
`

func historyCmd(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs, newClient := feedFlags("history", historyUsage, stderr, getenv)
	sid := fs.String("sid", "", "service id")
	path := fs.String("path", "", "the object's path")
	asJSON := fs.Bool("json", false, "print JSON lines")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *sid == "" || *path == "" {
		fs.Usage()
		return errors.New("history needs --sid and --path")
	}
	c, err := newClient()
	if err != nil {
		return err
	}
	t := newTable(stdout, *asJSON, "time", "seq", "op", "version", "size", "etag", "actor", "dialect", "client", "request", "detail")
	var content row
	n := 0
	err = c.each(ctx, feedQuery(*sid, "", *path), 0, func(_ json.RawMessage, ev *feedEvent) (bool, error) {
		n++
		return true, t.add(rowOf(ev, &content))
	})
	if err != nil {
		return err
	}
	if err := t.flush(); err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%s has no history in %s", *path, *sid)
	}
	return nil
}

const auditUsage = `usage: cairn audit --sid S [--actor KEYID] [--since T] [--until T] [--type T] [--json] [--url URL --key KEY]

Who did what: every event of the service (objects, the service itself,
uploads) from --since to --until (RFC 3339 times), oldest first, with its
actor (key id, dialect, client address) and request id; --actor keeps one
key's (or "reaper", "admin", ...), --type one event type's. Without --sid,
the admin key audits every service and account.
`

func auditCmd(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs, newClient := feedFlags("audit", auditUsage, stderr, getenv)
	sid := fs.String("sid", "", "service id (the admin key may omit it: every service)")
	actor := fs.String("actor", "", "only this actor's events (a key id, reaper, admin, system)")
	sinceRaw := fs.String("since", "", "from this moment (RFC 3339)")
	untilRaw := fs.String("until", "", "up to this moment (RFC 3339)")
	typ := fs.String("type", "", "only events of this type (object.put.v1, ...)")
	asJSON := fs.Bool("json", false, "print JSON lines")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var since, until time.Time
	for _, f := range []struct {
		raw  string
		name string
		t    *time.Time
	}{{*sinceRaw, "since", &since}, {*untilRaw, "until", &until}} {
		if f.raw == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, f.raw)
		if err != nil {
			return fmt.Errorf("--%s must be an RFC 3339 time, not %q", f.name, f.raw)
		}
		*f.t = t
	}
	c, err := newClient()
	if err != nil {
		return err
	}
	q := feedQuery(*sid, *typ, "")
	q.Since = since
	cols := []string{"time", "seq", "actor", "dialect", "client", "request", "op", "path", "version", "size", "detail"}
	if *sid == "" {
		cols = append(cols[:6], append([]string{"service"}, cols[6:]...)...)
	}
	t := newTable(stdout, *asJSON, cols...)
	contents := map[string]*row{} // each path's last content, for meta rows
	err = c.each(ctx, q, 0, func(_ json.RawMessage, ev *feedEvent) (bool, error) {
		if !until.IsZero() && ev.Time.After(until) {
			return false, nil // event times do not go back: the window is over
		}
		if !since.IsZero() && ev.Time.Before(since) {
			return true, nil
		}
		content := contents[ev.Service+"\x00"+ev.Path]
		if content == nil {
			content = &row{}
			contents[ev.Service+"\x00"+ev.Path] = content
		}
		r := rowOf(ev, content)
		if *actor != "" && r.Actor != *actor {
			return true, nil
		}
		return true, t.add(r)
	})
	if err != nil {
		return err
	}
	return t.flush()
}

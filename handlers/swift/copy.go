package swift

import (
	"maps"
	"net/http"
	"net/url"
	"strings"

	"github.com/cairnhq/cairn/events"
	"github.com/cairnhq/cairn/handlers/httpx"
	"github.com/cairnhq/cairn/schema"
)

// copyObject serves a server-side copy within the account: PUT with
// X-Copy-From: /container/object, or COPY with Destination:
// /container/object. The copy is a copy event sharing the source's bytes.
// Metadata: the source's with the request's on top, or with
// X-Fresh-Metadata: true only the request's. Expiry, as the seed says: a
// PUT with X-Copy-From keeps the source's X-Delete-At; a COPY does not
// (the destination container's default applies); either way an
// X-Delete-At/After sent with the request wins.
func copyObject(c *req) error {
	viaCOPY := c.r.Method == "COPY"
	var srcC, srcO, dstC, dstO string
	if viaCOPY {
		var ok bool
		if dstC, dstO, ok = splitPath(c.r.Header.Get("Destination")); !ok || dstO == "" {
			return swiftErr(http.StatusPreconditionFailed, "Destination header must be of the form <container name>/<object name>")
		}
		srcC, srcO = c.container, c.object
	} else {
		var ok bool
		if srcC, srcO, ok = splitPath(c.r.Header.Get("X-Copy-From")); !ok || srcO == "" {
			return swiftErr(http.StatusPreconditionFailed, "X-Copy-From header must be of the form <container name>/<object name>")
		}
		dstC, dstO = c.container, c.object
	}
	for _, h := range []string{"X-Copy-From-Account", "Destination-Account"} {
		if a := c.r.Header.Get(h); a != "" && a != c.account {
			return swiftErr(http.StatusNotImplemented, "Copies between accounts are not supported")
		}
	}
	// the source, as a read of it
	c.container, c.object = srcC, srcO
	_, src, err := c.readable()
	if err != nil {
		return err
	}
	// the destination, as a write to it
	c.container, c.object = dstC, dstO
	dst, err := c.writable()
	if err != nil {
		return err
	}
	if err := schema.CheckPath(dstO); err != nil {
		return err
	}
	meta, _, err := readMeta(c.r.Header, "X-Object-Meta-", "X-Remove-Object-Meta-")
	if err != nil {
		return err
	}
	fresh := strings.EqualFold(c.r.Header.Get("X-Fresh-Metadata"), "true")
	in := events.CopyInput{From: schema.ObjectRef{Service: src.Service, Path: src.Path, Version: src.Version},
		Service: dst.ID, Path: dstO, ReplaceMeta: true, ContentType: c.r.Header.Get("Content-Type")}
	if !fresh {
		in.Meta, in.Headers = maps.Clone(src.Meta), maps.Clone(src.Headers)
	}
	in.Meta = nilIfNone(overlay(in.Meta, meta))
	in.Headers = nilIfNone(overlay(in.Headers, readStored(c.r.Header)))
	if in.ContentType == "" {
		in.ContentType = src.ContentType
	}
	at, sent, err := deleteAt(c.r.Header, c.now())
	switch {
	case err != nil:
		return err
	case sent:
		in.DeleteAt = at
	case !viaCOPY && !fresh:
		in.DeleteAt = src.DeleteAt
	default:
		in.DeleteAt, _ = defaultDeleteAt(dst, c.now())
	}
	v, err := c.h.d.Core.CopyObject(c.ctx(), c.origin(), in)
	if err != nil {
		return err
	}
	hd := c.w.Header()
	etag := v.ETag
	if len(v.Segments) > 0 || v.Headers[events.ManifestHeader] != "" {
		etag = httpx.Quote(etag)
	}
	hd.Set("Etag", etag)
	hd.Set("Last-Modified", v.Time.UTC().Format(http.TimeFormat))
	hd.Set("X-Copied-From", (&url.URL{Path: srcC + "/" + srcO}).EscapedPath())
	hd.Set("X-Copied-From-Last-Modified", src.Time.UTC().Format(http.TimeFormat))
	hd.Set("Content-Length", "0")
	c.w.WriteHeader(http.StatusCreated)
	return nil
}

// overlay returns base with top's entries on it (base may be nil).
func overlay(base, top map[string]string) map[string]string {
	if base == nil {
		base = map[string]string{}
	}
	maps.Copy(base, top)
	return base
}

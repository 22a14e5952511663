package swift

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/cairnhq/cairn/events"
	"github.com/cairnhq/cairn/handlers/access"
	"github.com/cairnhq/cairn/handlers/httpx"
	"github.com/cairnhq/cairn/schema"
)

// maxManifestSize bounds an SLO manifest body (Swift's max_manifest_size,
// 8 MiB by default).
const maxManifestSize = 8 << 20

// manifestEntry is one segment of an SLO manifest as a client sends it.
type manifestEntry struct {
	Path      string  `json:"path"`
	ETag      *string `json:"etag"`
	SizeBytes *int64  `json:"size_bytes"`
}

// errManifestJSON is Swift's answer to a manifest that is not a JSON list.
func errManifestJSON() error { return swiftErr(http.StatusBadRequest, "Manifest must be valid JSON.") }

// readManifest reads an SLO manifest as Swift does, refusing before it
// holds more than the limits: a declared length over max_manifest_size
// before any byte is read (so no 100 Continue is sent), a body over it,
// and more than max_manifest_segments entries (each 413 with Swift's
// message). The entries are decoded one at a time, so a refused manifest
// never costs more than the limit.
func readManifest(c *req) ([]manifestEntry, error) {
	tooBig := swiftErr(http.StatusRequestEntityTooLarge, "Manifest File > "+strconv.Itoa(maxManifestSize)+" bytes")
	if c.r.ContentLength > maxManifestSize {
		return nil, tooBig
	}
	body, err := io.ReadAll(io.LimitReader(c.r.Body, maxManifestSize+1))
	if errors.Is(err, httpx.ErrBodyTimeout) || errors.Is(err, httpx.ErrIncompleteBody) {
		return nil, err // answered as every short or slow body is
	} else if err != nil {
		return nil, swiftErr(http.StatusBadRequest, "Could not read the manifest")
	}
	if len(body) > maxManifestSize {
		return nil, tooBig
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return nil, errManifestJSON()
	}
	var list []manifestEntry
	for dec.More() {
		if len(list) == events.MaxSegments {
			return nil, swiftErr(http.StatusRequestEntityTooLarge,
				"Number of object-backed segments must be <= "+strconv.Itoa(events.MaxSegments))
		}
		var e manifestEntry
		if err := dec.Decode(&e); err != nil {
			return nil, errManifestJSON()
		}
		list = append(list, e)
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim(']') {
		return nil, errManifestJSON()
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errManifestJSON()
	}
	if len(list) == 0 {
		return nil, swiftErr(http.StatusBadRequest, "Manifest must list 1 to "+strconv.Itoa(events.MaxSegments)+" segments")
	}
	return list, nil
}

// checkManifest checks an X-Object-Manifest value: "container/prefix",
// URL-encoded, naming a container.
func checkManifest(c *req, m string) error {
	raw, err := url.PathUnescape(m)
	container, _, _ := strings.Cut(strings.TrimPrefix(raw, "/"), "/")
	if err != nil || container == "" || !schema.ValidContainerName(container) {
		return swiftErr(http.StatusBadRequest, "X-Object-Manifest must be in the format container/prefix")
	}
	return nil
}

// splitPath splits "/container/object" or "container/object" (URL-encoded).
func splitPath(p string) (container, object string, ok bool) {
	raw, err := url.PathUnescape(p)
	if err != nil {
		return "", "", false
	}
	container, object, _ = strings.Cut(strings.TrimPrefix(raw, "/"), "/")
	return container, object, container != ""
}

// putLarge stores a static large object from a JSON manifest
// (?multipart-manifest=put): [{"path": "/c/o", "etag": ..., "size_bytes": ...}].
// Segments must be objects the principal may read in containers of the
// account; every bad one is listed in the 400, one per line.
func putLarge(c *req, svc *schema.Service) error {
	list, err := readManifest(c)
	if err != nil {
		return err
	}
	in := make([]events.SegmentInput, len(list))
	containers := make([]string, len(list)) // as the manifest names them (the core gets ids)
	var bad []string
	for i, e := range list {
		container, object, ok := splitPath(e.Path)
		if !ok || object == "" {
			bad = append(bad, e.Path+", 400 Bad Request")
			continue
		}
		seg := events.SegmentInput{Service: container, Path: object, Size: -1}
		containers[i] = container
		if e.ETag != nil {
			seg.ETag = *e.ETag
		}
		if e.SizeBytes != nil {
			seg.Size = *e.SizeBytes
		}
		// the principal must be able to read what it assembles; a
		// container it may know is not there is left to the core, which
		// reports every missing segment with the other bad ones
		if svc, err := access.LookupName(c.ctx(), c.h.d.State, c.p, c.account, container, access.Want{Level: access.Read, Account: c.account}); err == nil {
			seg.Service = svc.ID // the core names services by id
		} else {
			switch err = wireAccess(err); err {
			case errNotFound:
			case errForbidden, errUnauthorized:
				bad = append(bad, e.Path+", 403 Forbidden")
				continue
			default:
				return err
			}
		}
		in[i] = seg
	}
	if len(bad) > 0 {
		return swiftErr(http.StatusBadRequest, strings.Join(bad, "\n"))
	}
	w, err := readWrite(c, svc)
	if err != nil {
		return err
	}
	delete(w.headers, events.ManifestHeader)
	v, err := c.h.d.Core.PutLarge(c.ctx(), c.origin(), events.LargeInput{Service: svc.ID, Path: c.object, Segments: in,
		ContentType: w.contentType, Meta: w.meta, Headers: nilIfNone(w.headers), DeleteAt: w.deleteAt})
	var se *events.SegmentsError
	if errors.As(err, &se) {
		for i, b := range se.Bad {
			if b.Index >= 0 && b.Index < len(containers) && containers[b.Index] != "" {
				se.Bad[i].Service = containers[b.Index]
			}
		}
		return swiftErr(http.StatusBadRequest, segmentsText(se))
	}
	if err != nil {
		return err
	}
	hd := c.w.Header()
	hd.Set("Etag", httpx.Quote(v.ETag))
	hd.Set("Last-Modified", v.Time.UTC().Format(http.TimeFormat))
	hd.Set("Content-Length", "0")
	c.w.WriteHeader(http.StatusCreated)
	return nil
}

// segmentsText words a refused manifest as Swift does: one line per bad
// segment, its path and the reason.
func segmentsText(se *events.SegmentsError) string {
	lines := make([]string, len(se.Bad))
	for i, b := range se.Bad {
		lines[i] = "/" + b.Service + "/" + b.Path + ", " + segmentReason(b.Problem)
	}
	return strings.Join(lines, "\n")
}

// segmentReason is Swift's wording of a segment's problem.
func segmentReason(p events.SegmentProblem) string {
	switch p {
	case events.SegmentMissing:
		return "404 Not Found"
	case events.SegmentForeign:
		return "403 Forbidden"
	case events.SegmentDynamic:
		return "Dynamic large objects cannot be segments"
	case events.SegmentETagMismatch:
		return "Etag Mismatch"
	case events.SegmentSizeMismatch:
		return "Size Mismatch"
	}
	return "400 Bad Request"
}

// getManifest answers ?multipart-manifest=get of an SLO: its segments as
// Swift lists them, a nested SLO as one entry marked sub_slo.
func getManifest(c *req, svc *schema.Service, v *schema.Version) error {
	type entry struct {
		Name         string `json:"name"`
		Hash         string `json:"hash"`
		Bytes        int64  `json:"bytes"`
		ContentType  string `json:"content_type"`
		LastModified string `json:"last_modified"`
		SubSLO       bool   `json:"sub_slo,omitempty"`
	}
	out := make([]entry, 0, len(v.Segments))
	for _, sg := range v.Segments {
		out = append(out, entry{Name: "/" + c.containerOf(sg.Service) + "/" + sg.Path, Hash: sg.ETag, Bytes: sg.Size,
			ContentType: sg.ContentType, LastModified: listingTime(v.Time), SubSLO: sg.Manifest})
	}
	objectHeaders(c, svc, v)
	hd := c.w.Header()
	hd.Set("X-Static-Large-Object", "True")
	b, err := json.Marshal(out)
	if err != nil {
		return err
	}
	hd.Set("Content-Type", "application/json; charset=utf-8")
	hd.Set("Content-Length", strconv.Itoa(len(b)))
	hd.Del("Accept-Ranges")
	c.w.WriteHeader(http.StatusOK)
	if c.r.Method != http.MethodHead {
		_, err = c.w.Write(b)
	}
	return err
}

// deleteLarge answers DELETE ?multipart-manifest=delete: an SLO's segment
// objects are deleted, then the manifest, and the outcome is reported as a
// bulk delete's; a nested SLO's segments go before it, as in Swift.
// Anything else is deleted as usual.
func deleteLarge(c *req) error {
	svc, v, err := c.writableLive()
	if err != nil {
		return err
	}
	if len(v.Segments) == 0 {
		return deleteObject(c)
	}
	var res bulkResult
	deleteSegments(c, &res, v, map[schema.ObjectRef]bool{})
	res.delete(c, svc.ID, c.object, "/"+svc.ID+"/"+c.object)
	return res.write(c)
}

// deleteSegments deletes the segment objects of large object v, depth
// first: the segments of a nested SLO the principal may read (the version
// v references), then its manifest. A nested SLO named many times is
// walked once, so a manifest that repeats one costs its entries, not their
// product.
func deleteSegments(c *req, res *bulkResult, v *schema.Version, seen map[schema.ObjectRef]bool) {
	for _, sg := range v.Segments {
		container := c.containerOf(sg.Service)
		name := "/" + container + "/" + sg.Path
		if !sg.Manifest {
			res.delete(c, container, sg.Path, name)
			continue
		}
		ref := schema.ObjectRef{Service: sg.Service, Path: sg.Path, Version: sg.Version}
		if seen[ref] {
			continue
		}
		seen[ref] = true
		if _, err := access.Lookup(c.ctx(), c.h.d.State, c.p, sg.Service, access.Want{Level: access.Read, Account: c.account}); err == nil {
			if sub, err := c.h.d.State.Version(c.ctx(), sg.Service, sg.Path, sg.Version); err == nil && len(sub.Segments) > 0 {
				deleteSegments(c, res, sub, seen)
			}
		}
		res.delete(c, container, sg.Path, name)
	}
}

// containerOf is the container name of service id, as the URL's account
// calls it (the id itself when the service is gone).
func (c *req) containerOf(id string) string {
	if svc, err := c.h.d.State.Service(c.ctx(), id); err == nil {
		return svc.ContainerName()
	}
	return id
}

package swift

import (
	"bufio"
	"encoding/xml"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/cairnhq/cairn/handlers/access"
	"github.com/cairnhq/cairn/schema"
)

// Bulk delete limits, as Swift's defaults (GET /info shows them).
const (
	maxDeletesPerRequest = 10000
	maxFailedDeletes     = 1000
)

// bulkResult is the outcome of a bulk delete, in Swift's terms.
type bulkResult struct {
	deleted, notFound int
	errors            [][2]string // path, status
}

// delete deletes one object (or, with object "", one empty container) as
// the request's principal, and counts the outcome under name. The
// container is found by access.Lookup as for a single delete: one that is
// not there counts as not found, one the principal may not change (or may
// not know about) is a 403, a cache service a 405.
func (b *bulkResult) delete(c *req, container, object, name string) {
	fail := func(status int) { b.errors = append(b.errors, [2]string{name, statusLine(status)}) }
	level := access.Write
	if object == "" {
		level = access.Own
	}
	svc, err := access.LookupName(c.ctx(), c.h.d.State, c.p, c.account, container, c.want(level))
	if err == nil {
		if object == "" {
			err = c.h.d.Core.DeleteService(c.ctx(), c.origin(), svc.ID)
		} else if cerr := schema.CheckPath(object); cerr != nil {
			fail(http.StatusBadRequest)
			return
		} else {
			_, err = c.h.d.Core.DeleteObject(c.ctx(), c.origin(), svc.ID, object, schema.Conditions{})
		}
	} else {
		err = wireAccess(err)
	}
	switch {
	case err == nil:
		b.deleted++
	case err == errNotFound, schema.IsKind(err, schema.KindNotFound):
		b.notFound++
	default:
		status, _ := classify(err)
		if status >= 500 {
			c.h.d.Log.Error("swift bulk delete", "path", name, "err", err)
		}
		fail(status)
	}
}

func statusLine(status int) string { return strconv.Itoa(status) + " " + http.StatusText(status) }

// status is the Response Status of the whole: 200 OK, or 400 Bad Request
// when any path failed (as Swift reports it).
func (b *bulkResult) status() string {
	if len(b.errors) > 0 {
		return statusLine(http.StatusBadRequest)
	}
	return statusLine(http.StatusOK)
}

// write answers the result as JSON (the default), XML or plain text, as
// the Accept header asks; the HTTP status is 200 either way.
func (b *bulkResult) write(c *req) error {
	accept := c.r.Header.Get("Accept")
	hd := c.w.Header()
	switch {
	case strings.Contains(accept, "application/xml"), strings.Contains(accept, "text/xml"):
		type obj struct {
			Name   string `xml:"name"`
			Status string `xml:"status"`
		}
		doc := struct {
			XMLName  xml.Name `xml:"delete"`
			Deleted  int      `xml:"number_deleted"`
			NotFound int      `xml:"number_not_found"`
			Status   string   `xml:"response_status"`
			Body     string   `xml:"response_body"`
			Errors   []obj    `xml:"errors>object"`
		}{Deleted: b.deleted, NotFound: b.notFound, Status: b.status()}
		for _, e := range b.errors {
			doc.Errors = append(doc.Errors, obj{e[0], e[1]})
		}
		out, err := xml.Marshal(doc)
		if err != nil {
			return err
		}
		hd.Set("Content-Type", "application/xml; charset=utf-8")
		c.w.WriteHeader(http.StatusOK)
		_, err = c.w.Write(append([]byte(xml.Header), out...))
		return err
	case strings.Contains(accept, "text/plain"):
		var sb strings.Builder
		fmt.Fprintf(&sb, "Number Deleted: %d\nNumber Not Found: %d\nResponse Body: \nResponse Status: %s\nErrors:\n",
			b.deleted, b.notFound, b.status())
		for _, e := range b.errors {
			fmt.Fprintf(&sb, "%s, %s\n", e[0], e[1])
		}
		hd.Set("Content-Type", "text/plain; charset=utf-8")
		c.w.WriteHeader(http.StatusOK)
		_, err := c.w.Write([]byte(sb.String()))
		return err
	}
	errs := b.errors
	if errs == nil {
		errs = [][2]string{}
	}
	return writeJSON(c, http.StatusOK, map[string]any{"Number Deleted": b.deleted, "Number Not Found": b.notFound,
		"Response Status": b.status(), "Response Body": "", "Errors": errs})
}

// bulkDelete answers POST (or DELETE) /v1/{account}?bulk-delete: the body
// lists URL-encoded "container/object" paths (a bare "container" deletes an
// empty container), one per line, processed in order. The seed: only the
// account's own (admin) token may do it.
func bulkDelete(c *req) error {
	if !c.ownsAccount() {
		return c.denied()
	}
	sc := bufio.NewScanner(c.r.Body)
	sc.Buffer(make([]byte, 64<<10), 64<<10)
	var paths []string
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" {
			if len(paths) == maxDeletesPerRequest {
				return swiftErr(http.StatusRequestEntityTooLarge, "Maximum Bulk Deletes: "+strconv.Itoa(maxDeletesPerRequest)+" per request")
			}
			paths = append(paths, line)
		}
	}
	if err := sc.Err(); err != nil {
		return swiftErr(http.StatusBadRequest, "Invalid bulk delete body")
	}
	if len(paths) == 0 {
		return swiftErr(http.StatusBadRequest, "No paths to delete")
	}
	var res bulkResult
	for _, p := range paths {
		if len(res.errors) >= maxFailedDeletes {
			break
		}
		container, object, ok := splitPath(p)
		if !ok {
			res.errors = append(res.errors, [2]string{p, statusLine(http.StatusBadRequest)})
			continue
		}
		res.delete(c, container, object, p)
	}
	return res.write(c)
}

package swift

import (
	"encoding/xml"
	"net/http"
	"strconv"
	"strings"
)

// format is a listing's representation.
type format int

const (
	plain format = iota
	jsonFormat
	xmlFormat
)

// listFormat reads ?format= (json, xml, plain), else the Accept header.
func listFormat(c *req) format {
	switch strings.ToLower(c.q.Get("format")) {
	case "json":
		return jsonFormat
	case "xml":
		return xmlFormat
	case "plain", "text":
		return plain
	}
	accept := c.r.Header.Get("Accept")
	switch {
	case strings.Contains(accept, "application/json"):
		return jsonFormat
	case strings.Contains(accept, "application/xml"), strings.Contains(accept, "text/xml"):
		return xmlFormat
	}
	return plain
}

// listParams are a listing's paging parameters.
type listParams struct {
	limit                            int
	marker, endMarker, prefix, delim string
}

// readListParams reads limit (at most 10,000: more is a 412, as Swift
// answers), marker, end_marker, prefix, delimiter and path (which stands
// for prefix "path/" with delimiter "/").
func readListParams(c *req) (listParams, error) {
	lp := listParams{limit: listingLimit, marker: c.q.Get("marker"), endMarker: c.q.Get("end_marker"),
		prefix: c.q.Get("prefix"), delim: c.q.Get("delimiter")}
	if v := c.q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return lp, swiftErr(http.StatusBadRequest, "Value of limit must be a positive integer")
		}
		if n > listingLimit {
			return lp, swiftErr(http.StatusPreconditionFailed, "Maximum limit is "+strconv.Itoa(listingLimit))
		}
		lp.limit = n
	}
	if len(lp.delim) > 1 {
		return lp, swiftErr(http.StatusPreconditionFailed, "Bad delimiter")
	}
	if p, ok := c.q["path"]; ok {
		lp.prefix, lp.delim = p[0], "/"
		if lp.prefix != "" && !strings.HasSuffix(lp.prefix, "/") {
			lp.prefix += "/"
		}
	}
	return lp, nil
}

// within reports whether name is in the page's window of names.
func (lp listParams) within(name string) bool {
	return strings.HasPrefix(name, lp.prefix) && name > lp.marker && (lp.endMarker == "" || name < lp.endMarker)
}

// writeListing answers a listing: one name per line (204 when empty), or
// the JSON array, or the XML document built by xmlDoc.
func writeListing(c *req, f format, names []string, entries any, xmlDoc any) error {
	hd := c.w.Header()
	switch f {
	case jsonFormat:
		return writeJSON(c, http.StatusOK, entries)
	case xmlFormat:
		b, err := xml.Marshal(xmlDoc)
		if err != nil {
			return err
		}
		b = append([]byte(xml.Header), b...)
		hd.Set("Content-Type", "application/xml; charset=utf-8")
		hd.Set("Content-Length", strconv.Itoa(len(b)))
		c.w.WriteHeader(http.StatusOK)
		_, err = c.w.Write(b)
		return err
	}
	if len(names) == 0 {
		c.w.WriteHeader(http.StatusNoContent)
		return nil
	}
	body := strings.Join(names, "\n") + "\n"
	hd.Set("Content-Type", "text/plain; charset=utf-8")
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	c.w.WriteHeader(http.StatusOK)
	_, err := c.w.Write([]byte(body))
	return err
}

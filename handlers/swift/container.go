package swift

import (
	"encoding/xml"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/cairnhq/cairn/events"
	"github.com/cairnhq/cairn/handlers/access"
	"github.com/cairnhq/cairn/projections"
	"github.com/cairnhq/cairn/schema"
)

// defaultPolicy is the storage policy of a container made without one
// (Selectel's hot storage).
const defaultPolicy = "Policy-0"

// policies are the storage policies a container may name (Selectel's hot
// and cold). Every policy stores alike here; the name is kept and shown.
var policies = []string{defaultPolicy, "cold"}

// containerOp serves /v1/{account}/{container}.
func containerOp(c *req) (string, error) {
	switch c.r.Method {
	case http.MethodPut:
		return "PutContainer", putContainer(c)
	case http.MethodHead:
		return "HeadContainer", getContainer(c)
	case http.MethodGet:
		return "GetContainer", getContainer(c)
	case http.MethodPost:
		return "PostContainer", postContainer(c)
	case http.MethodDelete:
		return "DeleteContainer", deleteContainer(c)
	}
	c.w.Header().Set("Allow", "PUT, HEAD, GET, POST, DELETE, OPTIONS")
	return "Unknown", errMethod
}

func containerType(s *schema.Service) string {
	if s.PublicRead() {
		return "public"
	}
	return "private"
}

// containerChange is what a container PUT or POST asks to change.
type containerChange struct {
	set                map[string]string
	remove             []string
	read, write        *[]string // nil: unchanged
	quotaBytes, quotaN int64
	hasBytes, hasCount bool
	policy             string
}

// readContainerChange reads the metadata, ACL, quota and policy headers of
// a container PUT or POST.
func readContainerChange(c *req) (*containerChange, error) {
	set, remove, err := readMeta(c.r.Header, "X-Container-Meta-", "X-Remove-Container-Meta-")
	if err != nil {
		return nil, err
	}
	// Swift's versioned writes are not built yet: a container that asked
	// for them must not look as if it archives what it does not
	for _, h := range []string{"X-Versions-Location", "X-History-Location"} {
		if c.r.Header.Get(h) != "" {
			return nil, swiftErr(http.StatusNotImplemented, h+" (versioned writes) is not supported yet; nothing was changed")
		}
	}
	ch := &containerChange{set: set, remove: remove, policy: c.r.Header.Get("X-Storage-Policy")}
	if t, ok := set["type"]; ok && t != "public" && t != "private" {
		return nil, swiftErr(http.StatusBadRequest, "X-Container-Meta-Type must be public or private")
	}
	if ch.quotaBytes, ch.hasBytes, err = takeQuota(set, &ch.remove, "quota-bytes"); err != nil {
		return nil, err
	}
	if ch.quotaN, ch.hasCount, err = takeQuota(set, &ch.remove, "quota-count"); err != nil {
		return nil, err
	}
	acl := func(name string) *[]string {
		if c.r.Header.Get("X-Remove-Container-"+name) != "" {
			return &[]string{}
		}
		vals, ok := c.r.Header[http.CanonicalHeaderKey("X-Container-"+name)]
		if !ok {
			return nil
		}
		out := []string{}
		for _, e := range strings.Split(strings.Join(vals, ","), ",") {
			if e = strings.TrimSpace(e); e != "" {
				out = append(out, e)
			}
		}
		return &out
	}
	ch.read, ch.write = acl("Read"), acl("Write")
	return ch, nil
}

// apply changes a container's settings as ch asks.
func (ch *containerChange) apply(s *schema.Service) {
	s.Settings.Meta = applyMeta(s.Settings.Meta, ch.set, ch.remove)
	if ch.read != nil {
		s.Settings.ReadACL = nilIfEmpty(*ch.read)
	}
	if ch.write != nil {
		s.Settings.WriteACL = nilIfEmpty(*ch.write)
	}
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

// settingsChange reports whether ch changes anything but quotas.
func (ch *containerChange) settingsChange() bool {
	return len(ch.set) > 0 || len(ch.remove) > 0 || ch.read != nil || ch.write != nil
}

// quotas applies ch's quota changes to svc.
func (ch *containerChange) quotas(c *req, svc *schema.Service) error {
	if !ch.hasBytes && !ch.hasCount {
		return nil
	}
	b, n := svc.QuotaBytes, svc.QuotaCount
	if ch.hasBytes {
		b = ch.quotaBytes
	}
	if ch.hasCount {
		n = ch.quotaN
	}
	_, err := c.h.d.Core.SetServiceQuota(c.ctx(), c.origin(), svc.ID, b, n)
	return err
}

// putContainer creates a container (201) in the URL's account, or updates
// an existing one's metadata with the headers sent (202), as Swift does.
// Container names belong to their account: another account's container
// of the same name is another service (events.CreateContainer).
func putContainer(c *req) error {
	if !c.ownsAccount() {
		return c.denied()
	}
	if !schema.ValidContainerName(c.container) || len(c.container) > maxContainerName {
		return swiftErr(http.StatusBadRequest, "Container name must be 1-256 bytes of UTF-8 without '/', and not '.' or '..'")
	}
	ch, err := readContainerChange(c)
	if err != nil {
		return err
	}
	st := schema.ServiceSettings{Policy: ch.policy}
	if st.Policy == "" {
		st.Policy = defaultPolicy
	}
	if !slices.Contains(policies, st.Policy) {
		return swiftErr(http.StatusBadRequest, "Invalid X-Storage-Policy: "+st.Policy)
	}
	probe := &schema.Service{Settings: st}
	ch.apply(probe)
	svc, err := c.h.d.Core.CreateContainer(c.ctx(), c.origin(), c.container, events.ServiceInput{Account: c.account,
		Settings: probe.Settings})
	status := http.StatusCreated
	if schema.IsKind(err, schema.KindAlreadyExists) {
		if svc, err = c.findContainer(access.Own); err != nil {
			return err
		}
		status = http.StatusAccepted
		if err := samePolicy(svc, ch.policy); err != nil {
			return err
		}
		if ch.settingsChange() {
			svc, err = c.h.d.Core.UpdateService(c.ctx(), c.origin(), svc.ID, func(s *schema.Service) error {
				ch.apply(s)
				return nil
			})
		}
	}
	if err != nil {
		return err
	}
	c.svc = svc
	if err := ch.quotas(c, svc); err != nil {
		return err
	}
	c.w.Header().Set("Content-Length", "0")
	c.w.WriteHeader(status)
	return nil
}

// containerHeaders sets a container's counts, settings and metadata; the
// ACLs and temp URL keys only for those who administer it.
func containerHeaders(c *req, s *schema.Service) {
	hd := c.w.Header()
	hd.Set("X-Container-Object-Count", strconv.FormatInt(s.Files, 10))
	hd.Set("X-Container-Bytes-Used", strconv.FormatInt(s.Bytes, 10))
	hd.Set("X-Timestamp", timestamp(s.Created))
	policy := s.Settings.Policy
	if policy == "" {
		policy = defaultPolicy
	}
	hd.Set("X-Storage-Policy", policy)
	owner := c.allows(s, access.Want{Level: access.Own})
	setMeta(hd, "X-Container-Meta-", s.Settings.Meta, owner, c.h.d.Core)
	hd.Set("X-Container-Meta-Type", containerType(s))
	if s.QuotaBytes > 0 {
		hd.Set("X-Container-Meta-Quota-Bytes", strconv.FormatInt(s.QuotaBytes, 10))
	}
	if s.QuotaCount > 0 {
		hd.Set("X-Container-Meta-Quota-Count", strconv.FormatInt(s.QuotaCount, 10))
	}
	if owner {
		if len(s.Settings.ReadACL) > 0 {
			hd.Set("X-Container-Read", strings.Join(s.Settings.ReadACL, ","))
		}
		if len(s.Settings.WriteACL) > 0 {
			hd.Set("X-Container-Write", strings.Join(s.Settings.WriteACL, ","))
		}
	}
}

type objectEntry struct {
	Name         string `json:"name,omitempty" xml:"name"`
	Hash         string `json:"hash,omitempty" xml:"hash"`
	Bytes        *int64 `json:"bytes,omitempty" xml:"bytes"`
	ContentType  string `json:"content_type,omitempty" xml:"content_type"`
	LastModified string `json:"last_modified,omitempty" xml:"last_modified"`
	Subdir       string `json:"subdir,omitempty" xml:"-"`
}

type subdirXML struct {
	Name string `xml:"name,attr"`
	Elem string `xml:"name"`
}

type containerXML struct {
	XMLName xml.Name      `xml:"container"`
	Name    string        `xml:"name,attr"`
	Objects []objectEntry `xml:"object"`
	Subdirs []subdirXML   `xml:"subdir"`
}

// getContainer serves HEAD and GET of a container: its headers, and for
// GET a page of its listing.
func getContainer(c *req) error {
	svc, err := c.findContainer(access.List)
	if err != nil {
		return err
	}
	containerHeaders(c, svc)
	if c.r.Method == http.MethodHead {
		c.w.WriteHeader(http.StatusNoContent)
		return nil
	}
	lp, err := readListParams(c)
	if err != nil {
		return err
	}
	o := projections.ListOptions{Prefix: lp.prefix, Delimiter: lp.delim, After: lp.marker, Limit: max(lp.limit, 1), Now: c.now()}
	m, err := c.asOf(svc)
	if err != nil {
		return err
	}
	page := &projections.ListResult{}
	if m != nil {
		o.AsOf, o.AsOfTime = m.SyncID, m.Time
		o.ShowExpired = c.allows(svc, access.Want{Level: access.Own}) // an expired object is gone but to its administrators
	}
	if m == nil || m.SyncID > 0 {
		if page, err = c.h.d.State.List(c.ctx(), svc.ID, o); err != nil {
			return err
		}
	}
	names, entries := []string{}, []objectEntry{}
	doc := containerXML{Name: svc.ID}
	files, prefixes := page.Files, page.Prefixes
	for len(names) < lp.limit && (len(files) > 0 || len(prefixes) > 0) {
		// files and prefixes are each in name order: merge them
		if len(prefixes) > 0 && (len(files) == 0 || prefixes[0] < files[0].Path) {
			p := prefixes[0]
			prefixes = prefixes[1:]
			if !lp.within(p) {
				break
			}
			names = append(names, p)
			entries = append(entries, objectEntry{Subdir: p})
			doc.Subdirs = append(doc.Subdirs, subdirXML{Name: p, Elem: p})
			continue
		}
		v := files[0]
		files = files[1:]
		if !lp.within(v.Path) {
			break
		}
		size := v.Size
		e := objectEntry{Name: v.Path, Hash: v.ETag, Bytes: &size, ContentType: v.ContentType, LastModified: listingTime(v.Time)}
		names = append(names, v.Path)
		entries = append(entries, e)
		doc.Objects = append(doc.Objects, e)
	}
	return writeListing(c, listFormat(c), names, entries, doc)
}

// postContainer sets, replaces and removes a container's metadata, ACLs
// and quotas.
func postContainer(c *req) error {
	svc, err := c.findContainer(access.Own)
	if err != nil {
		return err
	}
	ch, err := readContainerChange(c)
	if err != nil {
		return err
	}
	if err := samePolicy(svc, ch.policy); err != nil {
		return err
	}
	if ch.settingsChange() {
		if svc, err = c.h.d.Core.UpdateService(c.ctx(), c.origin(), svc.ID, func(s *schema.Service) error {
			ch.apply(s)
			return nil
		}); err != nil {
			return err
		}
	}
	if err := ch.quotas(c, svc); err != nil {
		return err
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

// samePolicy refuses to change a container's storage policy (409): as in
// Swift, it is fixed when the container is made. An empty policy asks for
// no change.
func samePolicy(svc *schema.Service, policy string) error {
	cur := svc.Settings.Policy
	if cur == "" {
		cur = defaultPolicy
	}
	if policy != "" && policy != cur {
		return swiftErr(http.StatusConflict, "Storage policy cannot be changed")
	}
	return nil
}

// deleteContainer removes an empty container: 409 while it holds objects.
func deleteContainer(c *req) error {
	svc, err := c.findContainer(access.Own)
	if err != nil {
		return err
	}
	if err := c.h.d.Core.DeleteService(c.ctx(), c.origin(), svc.ID); err != nil {
		if schema.IsKind(err, schema.KindConflict) {
			return swiftErr(http.StatusConflict, "There was a conflict when trying to complete your request.")
		}
		return err
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

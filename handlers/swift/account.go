package swift

import (
	"encoding/xml"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/cairnhq/cairn/events"
	"github.com/cairnhq/cairn/handlers/access"
	"github.com/cairnhq/cairn/schema"
)

// accountOp serves /v1/{account}.
func accountOp(c *req) (string, error) {
	switch c.r.Method {
	case http.MethodHead:
		return "HeadAccount", getAccount(c)
	case http.MethodGet:
		return "GetAccount", getAccount(c)
	case http.MethodPost:
		if c.q.Has("bulk-delete") {
			return "BulkDelete", bulkDelete(c)
		}
		return "PostAccount", postAccount(c)
	case http.MethodDelete:
		if c.q.Has("bulk-delete") {
			return "BulkDelete", bulkDelete(c)
		}
	}
	c.w.Header().Set("Allow", "HEAD, GET, POST, OPTIONS")
	return "Unknown", errMethod
}

// containers returns the account's containers the principal may see, by
// name: those it may list as its own (all of them to the account's
// admins); a public container is not listed to other keys.
func (c *req) containers() ([]*schema.Service, error) {
	all, err := c.h.d.State.Services(c.ctx())
	if err != nil {
		return nil, err
	}
	var out []*schema.Service
	for _, s := range all {
		if c.allows(s, access.Want{Level: access.List, StorageOnly: true}) {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b *schema.Service) int { return strings.Compare(a.ContainerName(), b.ContainerName()) })
	return out, nil
}

// setMeta sets metadata headers (prefix and each name). Secret entries
// (temp URL keys, events.SecretMeta) are shown, opened, only when owner
// says the principal administers what they belong to, as Swift shows them
// to the account's owners only; others get the rest of the metadata.
func setMeta(hd http.Header, prefix string, meta map[string]string, owner bool, secrets Secrets) {
	if owner {
		meta = secrets.RevealMeta(meta)
	}
	for k, v := range meta {
		if owner || !events.SecretMeta(k) {
			hd.Set(prefix+canonical(k), v)
		}
	}
}

// accountHeaders sets the account's counts and metadata; its temp URL keys
// only for the account's administrators.
func accountHeaders(c *req, a *schema.Account) error {
	all, err := c.h.d.State.Services(c.ctx())
	if err != nil {
		return err
	}
	var count, files, bytes int64
	for _, s := range all {
		if s.Account == a.ID {
			count++
			files += s.Files
			bytes += s.Bytes
		}
	}
	hd := c.w.Header()
	hd.Set("X-Account-Container-Count", strconv.FormatInt(count, 10))
	hd.Set("X-Account-Object-Count", strconv.FormatInt(files, 10))
	hd.Set("X-Account-Bytes-Used", strconv.FormatInt(bytes, 10))
	hd.Set("X-Timestamp", timestamp(a.Created))
	setMeta(hd, "X-Account-Meta-", a.Meta, c.ownsAccount(), c.h.d.Core)
	if a.QuotaBytes > 0 {
		hd.Set("X-Account-Meta-Quota-Bytes", strconv.FormatInt(a.QuotaBytes, 10))
	}
	return nil
}

type containerEntry struct {
	Name         string `json:"name" xml:"name"`
	Count        int64  `json:"count" xml:"count"`
	Bytes        int64  `json:"bytes" xml:"bytes"`
	LastModified string `json:"last_modified" xml:"last_modified"`
	Type         string `json:"type" xml:"type"` // Selectel: public or private
}

type accountXML struct {
	XMLName    xml.Name         `xml:"account"`
	Name       string           `xml:"name,attr"`
	Containers []containerEntry `xml:"container"`
}

// getAccount serves HEAD and GET of an account: its counts and metadata,
// and for GET the containers the principal may see.
func getAccount(c *req) error {
	if !c.inAccount() {
		return c.denied()
	}
	a, err := c.h.d.State.Account(c.ctx(), c.account)
	if schema.IsKind(err, schema.KindNotFound) {
		return errNotFound
	} else if err != nil {
		return err
	}
	if err := accountHeaders(c, a); err != nil {
		return err
	}
	if c.r.Method == http.MethodHead {
		c.w.WriteHeader(http.StatusNoContent)
		return nil
	}
	lp, err := readListParams(c)
	if err != nil {
		return err
	}
	all, err := c.containers()
	if err != nil {
		return err
	}
	names, entries := []string{}, []containerEntry{}
	for _, s := range all {
		if len(names) == lp.limit {
			break
		}
		if !lp.within(s.ContainerName()) {
			continue
		}
		names = append(names, s.ContainerName())
		entries = append(entries, containerEntry{Name: s.ContainerName(), Count: s.Files, Bytes: s.Bytes,
			LastModified: listingTime(s.Created), Type: containerType(s)})
	}
	return writeListing(c, listFormat(c), names, entries, accountXML{Name: c.account, Containers: entries})
}

// postAccount sets and removes account metadata (X-Account-Meta-*); the
// account quota is X-Account-Meta-Quota-Bytes.
func postAccount(c *req) error {
	if !c.ownsAccount() {
		return c.denied()
	}
	set, remove, err := readMeta(c.r.Header, "X-Account-Meta-", "X-Remove-Account-Meta-")
	if err != nil {
		return err
	}
	quota, hasQuota, err := takeQuota(set, &remove, "quota-bytes")
	if err != nil {
		return err
	}
	if len(set) > 0 || len(remove) > 0 {
		_, err = c.h.d.Core.UpdateAccount(c.ctx(), c.origin(), c.account, func(a *schema.Account) error {
			a.Meta = applyMeta(a.Meta, set, remove)
			return nil
		})
		if err != nil {
			return err
		}
	}
	if hasQuota {
		if _, err := c.h.d.Core.SetAccountQuota(c.ctx(), c.origin(), c.account, quota); err != nil {
			return err
		}
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

// applyMeta returns meta with set applied and remove removed (nil when
// empty).
func applyMeta(meta, set map[string]string, remove []string) map[string]string {
	out := maps.Clone(meta)
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, set)
	for _, k := range remove {
		delete(out, k)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// takeQuota moves a quota entry (name) out of the metadata read from a
// request: a number sets it, a removal (or empty value) clears it (0).
func takeQuota(set map[string]string, remove *[]string, name string) (int64, bool, error) {
	if i := slices.Index(*remove, name); i >= 0 {
		*remove = slices.Delete(*remove, i, i+1)
		return 0, true, nil
	}
	v, ok := set[name]
	if !ok {
		return 0, false, nil
	}
	delete(set, name)
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, false, swiftErr(http.StatusBadRequest, "Invalid "+canonical(name)+": a number of "+name[len("quota-"):]+" is expected")
	}
	return n, true, nil
}

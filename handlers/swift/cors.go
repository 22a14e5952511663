package swift

import (
	"net/http"
	"slices"
	"strings"

	"github.com/cairnhq/cairn/schema"
)

// defaultCORSMethods are the methods a preflight allows when neither the
// object nor its container names any.
const defaultCORSMethods = "GET, HEAD, PUT, POST, DELETE, OPTIONS"

// corsSetting returns a CORS setting (a lower-case stored header name) of
// an object, else its container's default.
func corsSetting(svc *schema.Service, v *schema.Version, name string) string {
	if v != nil {
		if val := v.Headers[name]; val != "" {
			return val
		}
	}
	return svc.Settings.Meta[name]
}

// originAllowed reports whether an Access-Control-Allow-Origin setting (a
// list separated by spaces or commas, or "*") admits origin.
func originAllowed(setting, origin string) bool {
	if origin == "" {
		return false
	}
	for _, o := range strings.FieldsFunc(setting, func(r rune) bool { return r == ' ' || r == ',' }) {
		if o == "*" || o == origin {
			return true
		}
	}
	return false
}

// corsResponse adds the CORS headers of an actual request (GET, HEAD)
// from an allowed Origin.
func corsResponse(c *req, svc *schema.Service, v *schema.Version) {
	origin := c.r.Header.Get("Origin")
	if !originAllowed(corsSetting(svc, v, "access-control-allow-origin"), origin) {
		return
	}
	hd := c.w.Header()
	hd.Set("Access-Control-Allow-Origin", origin)
	hd.Add("Vary", "Origin")
	// Swift exposes its standard response headers, plus the configured ones
	expose := "cache-control, content-language, content-type, expires, last-modified, pragma, etag, x-timestamp, x-trans-id, x-openstack-request-id"
	if more := corsSetting(svc, v, "access-control-expose-headers"); more != "" {
		expose += ", " + more
	}
	hd.Set("Access-Control-Expose-Headers", expose)
	if cred := corsSetting(svc, v, "access-control-allow-credentials"); cred != "" {
		hd.Set("Access-Control-Allow-Credentials", cred)
	}
}

// options answers OPTIONS: a CORS preflight (Origin and
// Access-Control-Request-Method) from the object's stored CORS headers or
// its container's defaults, without a token, as Swift does: 200 with the
// allowance, 401 when the origin or method is not allowed. Without a
// preflight's headers it lists the methods.
func options(c *req) error {
	origin, method := c.r.Header.Get("Origin"), c.r.Header.Get("Access-Control-Request-Method")
	hd := c.w.Header()
	if origin == "" || method == "" {
		hd.Set("Allow", "HEAD, GET, PUT, POST, DELETE, COPY, OPTIONS")
		hd.Set("Content-Length", "0")
		c.w.WriteHeader(http.StatusOK)
		return nil
	}
	if c.container == "" {
		return errUnauthorized
	}
	svc, err := c.h.d.State.ServiceByName(c.ctx(), c.account, c.container)
	if err != nil {
		return errUnauthorized
	}
	var v *schema.Version
	if c.object != "" {
		v, _ = c.version(svc, nil) // no live object: the container's settings apply
	}
	if !originAllowed(corsSetting(svc, v, "access-control-allow-origin"), origin) {
		return errUnauthorized
	}
	methods := corsSetting(svc, v, "access-control-allow-methods")
	if methods == "" {
		methods = defaultCORSMethods
	}
	allowed := strings.FieldsFunc(strings.ToUpper(methods), func(r rune) bool { return r == ' ' || r == ',' })
	if !slices.Contains(allowed, strings.ToUpper(method)) {
		return errUnauthorized
	}
	hd.Set("Access-Control-Allow-Origin", origin)
	hd.Add("Vary", "Origin")
	hd.Set("Access-Control-Allow-Methods", methods)
	if h := corsSetting(svc, v, "access-control-allow-headers"); h != "" {
		hd.Set("Access-Control-Allow-Headers", h)
	} else if h := c.r.Header.Get("Access-Control-Request-Headers"); h != "" {
		hd.Set("Access-Control-Allow-Headers", h) // Swift allows what is asked when nothing is configured
	}
	if age := corsSetting(svc, v, "access-control-max-age"); age != "" {
		hd.Set("Access-Control-Max-Age", age)
	}
	if cred := corsSetting(svc, v, "access-control-allow-credentials"); cred != "" {
		hd.Set("Access-Control-Allow-Credentials", cred)
	}
	hd.Set("Content-Length", "0")
	c.w.WriteHeader(http.StatusOK)
	return nil
}

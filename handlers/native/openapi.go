package native

import (
	"net/http"
	"strconv"

	"github.com/cairnhq/cairn/schema"
)

// openAPI serves the OpenAPI document of this API (GET /openapi.json). It
// needs no key: it is public documentation and reveals no data.
func (h *Handler) openAPI(c *call) error {
	hd := c.w.Header()
	hd.Set("Content-Type", "application/json")
	hd.Set("Content-Length", strconv.Itoa(len(schema.NativeOpenAPI)))
	hd.Set("Cache-Control", "public, max-age=300")
	c.w.WriteHeader(http.StatusOK)
	if c.r.Method != http.MethodHead {
		_, _ = c.w.Write(schema.NativeOpenAPI)
	}
	return nil
}

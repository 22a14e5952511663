package swift

import (
	"net/http"

	"github.com/cairnhq/cairn/events"
)

// info answers GET /info, Swift's capability discovery: the constraints
// this server enforces and the middleware features it really has, so
// clients and test suites can adapt.
func info(c *req) error {
	doc := map[string]any{
		"swift": map[string]any{
			"version":                   "cairn",
			"max_file_size":             c.h.d.Core.MaxObjectSize(),
			"max_object_name_length":    maxObjectNameLength,
			"max_container_name_length": maxContainerName,
			"max_account_name_length":   64,
			"container_listing_limit":   listingLimit,
			"account_listing_limit":     listingLimit,
			"max_meta_name_length":      maxMetaNameLength,
			"max_meta_value_length":     maxMetaValueLength,
			"max_meta_count":            maxMetaCount,
			"max_meta_overall_size":     maxMetaOverallSize,
			"max_header_size":           maxHeaderSize,
			"extra_header_count":        0,
			"valid_api_versions":        []string{"v1", "v1.0"},
			"strict_cors_mode":          true,
			"allow_account_management":  false,
			"account_autocreate":        false,
			"policies":                  policyInfo(),
		},
		"tempauth": map[string]any{"account_acls": false},
		"bulk_delete": map[string]any{"max_deletes_per_request": maxDeletesPerRequest,
			"max_failed_deletes": maxFailedDeletes},
		"slo": map[string]any{"max_manifest_segments": events.MaxSegments, "max_manifest_size": maxManifestSize,
			"min_segment_size": 1},
		"dlo":              map[string]any{"max_segments": 10000},
		"container_quotas": map[string]any{},
		"account_quotas":   map[string]any{},
		"cors":             map[string]any{},
		// what tempurl.go serves: these methods and digests; object
		// metadata hidden from the answer but for X-Object-Meta-Public-*
		"tempurl": map[string]any{
			"methods":                 []string{"GET", "HEAD", "PUT", "POST", "DELETE"},
			"allowed_digests":         []string{"sha1", "sha256", "sha512"},
			"outgoing_remove_headers": []string{"x-object-meta-*"},
			"outgoing_allow_headers":  []string{"x-object-meta-public-*"},
		},
	}
	if c.r.Method == http.MethodHead {
		c.w.WriteHeader(http.StatusOK)
		return nil
	}
	return writeJSON(c, http.StatusOK, doc)
}

func policyInfo() []map[string]any {
	out := []map[string]any{}
	for i, p := range policies {
		e := map[string]any{"name": p}
		if i == 0 {
			e["default"] = true
		}
		out = append(out, e)
	}
	return out
}

package main

import (
	"errors"
	"flag"
)

// cacheSettings are the servicecreate / serviceupdate flags of a cache
// service; unset flags are left out of the request.
type cacheSettings struct {
	service, origin, path, refresh, expire, negative *string
	maxBytes                                         *int64
}

func cacheFlags(fs *flag.FlagSet) *cacheSettings {
	return &cacheSettings{
		service:  fs.String("source-service", "", "a cache's source: a storage service of the same account"),
		origin:   fs.String("source-origin", "", "a cache's source: an HTTP origin URL (http://origin/base)"),
		path:     fs.String("source-path", "", "a cache's source path, put before every requested path"),
		refresh:  fs.String("refresh", "", `a cache's refresh: re-check a copy this old ("10m"; "0s" always; "never")`),
		expire:   fs.String("expire-unused", "", `a cache's sliding expiry of unused copies ("24h"; "never")`),
		negative: fs.String("negative-ttl", "", `how long a cache remembers not-found and failures ("30s"; "0s": not)`),
		maxBytes: fs.Int64("max-bytes", -1, "a cache's size bound in bytes (0: none)"),
	}
}

// into adds the flags given to a servicecreate or serviceupdate body.
func (c *cacheSettings) into(body map[string]any) error {
	switch {
	case *c.service != "" && *c.origin != "":
		return errors.New("--source-service or --source-origin, not both")
	case *c.service != "":
		body["source"] = map[string]string{"service": *c.service}
	case *c.origin != "":
		body["source"] = map[string]string{"url": *c.origin}
	}
	for name, v := range map[string]string{"source_path": *c.path, "refresh": *c.refresh, "expire_unused": *c.expire,
		"negative_ttl": *c.negative} {
		if v != "" {
			body[name] = v
		}
	}
	if *c.maxBytes >= 0 {
		body["max_bytes"] = *c.maxBytes
	}
	return nil
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cairnhq/cairn/handlers/native/client"
)

// multiFlag collects a repeatable flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

const adminUsage = `usage: cairn admin FUNCTION [flags]   (--url URL --key KEY, or CAIRN_URL / CAIRN_KEY)

functions:
  servicelist
  servicecreate  --id ID [--name NAME] [--keep-versions forever|DURATION] [--quota-bytes N] [--quota-count N]
  serviceupdate  --id ID [--name NAME] [--keep-versions forever|DURATION] [--quota-bytes N] [--quota-count N]
  servicedelete  --id ID
  keycreate      --name NAME [--read SID]... [--write SID]... [--admin] [--account ID] [--login LOGIN]
                 (SID "*" means every service; the key value is shown once; a key with
                 no --read, --write or --admin gets its rights only from container ACLs;
                 LOGIN, unique in the account, is the Swift user "<account>_<login>")
  keylist
  keyrevoke      --id KEYID
  accountcreate  --id ID [--name NAME]
  accountupdate  --id ID [--name NAME] [--quota-bytes N]   (0 removes a quota)
  accountlist
  accountdelete  --id ID
  sourcecreate   --name NAME --source-url URL --source-key KEY   (a replication source: another instance and a key there)
  sourcelist
  sourcedelete   --name NAME
  feedcredcreate [--account ID] [--name NAME]   a NATS feed login of one account (default: the
                 key's): its consumers read only that account's events; the password is
                 shown once
  feedcredlist   [--account ID]                 (the admin key without --account: every account's)
  feedcredrevoke --user USER                    closes its connections, deletes its consumers
                 (the feedcred functions also take an admin key of the account)
  blobhealth     what the scrubber found: its last pass, damaged (quarantined) blobs
                 and the versions that reference them
  servicecreate  ... --replica SOURCE/SID     (a read-only replica of service SID on SOURCE)
  serviceupdate  --id ID --promote | --follow SOURCE/SID   (failover; re-attach)
  servicecreate  --id ID --type cache --source-service SID | --source-origin URL
                 [--source-path P] [--refresh DURATION|never] [--expire-unused DURATION|never]
                 [--max-bytes N] [--negative-ttl DURATION]   (a cache service; serviceupdate changes them)
`

func admin(ctx context.Context, args []string, stdout io.Writer, getenv func(string) string) error {
	if len(args) == 0 {
		fmt.Fprint(stdout, adminUsage)
		return errors.New("missing function")
	}
	fn := strings.ToLower(args[0])
	fs := flag.NewFlagSet("admin "+fn, flag.ContinueOnError)
	target := targetFlags(fs, getenv, "admin key value (default: from the data directory's admin.json)")
	id := fs.String("id", "", "service, key or account id")
	name := fs.String("name", "", "name")
	keep := fs.String("keep-versions", "", `"forever" or a duration like "720h"`)
	account := fs.String("account", "", "account id (default: the default account)")
	isAdmin := fs.Bool("admin", false, "make an account admin key")
	login := fs.String("login", "", "the key's login name, unique in its account (keycreate)")
	user := fs.String("user", "", "a feed credential's NATS user (feedcredrevoke)")
	quotaBytes := fs.Int64("quota-bytes", -1, "byte quota (0 removes it)")
	quotaCount := fs.Int64("quota-count", -1, "file-count quota (0 removes it)")
	srcURL := fs.String("source-url", "", "the other instance's API URL (sourcecreate)")
	srcKey := fs.String("source-key", "", "a key value on the other instance (sourcecreate)")
	replica := fs.String("replica", "", "SOURCE/SID: create the service as a replica (servicecreate)")
	promote := fs.Bool("promote", false, "make a replica a primary (serviceupdate)")
	follow := fs.String("follow", "", "SOURCE/SID: make the service a replica (serviceupdate)")
	typ := fs.String("type", "", `service type: "storage" (default) or "cache" (servicecreate)`)
	cache := cacheFlags(fs)
	var reads, writes multiFlag
	fs.Var(&reads, "read", "service id the key may read (repeatable; * for all)")
	fs.Var(&writes, "write", "service id the key may write (repeatable; * for all)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	url, key := target.resolve()
	if key == "" {
		return errors.New("no admin key: pass --key or set CAIRN_KEY")
	}
	body := map[string]any{}
	need := func(flagName, v string) error {
		if v == "" {
			return fmt.Errorf("%s needs --%s", fn, flagName)
		}
		return nil
	}
	method := http.MethodPost
	switch fn {
	case "servicelist", "keylist", "accountlist", "sourcelist", "blobhealth":
		if fn == "servicelist" {
			method = http.MethodGet
			body = nil
		}
	case "servicecreate", "serviceupdate":
		if err := need("id", *id); err != nil {
			return err
		}
		body["id"] = *id
		if *name != "" {
			body["name"] = *name
		}
		if *keep != "" {
			body["keep_versions"] = *keep
		}
		if *account != "" && fn == "servicecreate" {
			body["account"] = *account
		}
		if *quotaBytes >= 0 {
			body["quota_bytes"] = *quotaBytes
		}
		if *quotaCount >= 0 {
			body["quota_count"] = *quotaCount
		}
		for flagName, v := range map[string]string{"replica": *replica, "follow": *follow} {
			if v == "" {
				continue
			}
			src, sid, ok := strings.Cut(v, "/")
			if !ok || src == "" || sid == "" {
				return fmt.Errorf("--%s takes SOURCE/SID", flagName)
			}
			body[flagName] = map[string]string{"source": src, "sid": sid}
		}
		if *promote {
			body["promote"] = true
		}
		if *typ != "" && fn == "servicecreate" {
			body["type"] = *typ
		}
		if err := cache.into(body); err != nil {
			return err
		}
	case "feedcredcreate", "feedcredlist":
		if *account != "" {
			body["account"] = *account
		}
		if *name != "" && fn == "feedcredcreate" {
			body["name"] = *name
		}
	case "feedcredrevoke":
		if err := need("user", *user); err != nil {
			return err
		}
		body["user"] = *user
	case "servicedelete", "keyrevoke", "accountdelete":
		if err := need("id", *id); err != nil {
			return err
		}
		body["id"] = *id
	case "keycreate":
		access := map[string]string{}
		for _, s := range reads {
			access[s] = "read"
		}
		for _, s := range writes {
			access[s] = "write"
		}
		body["name"], body["access"], body["admin"] = *name, access, *isAdmin
		if *account != "" {
			body["account"] = *account
		}
		if *login != "" {
			body["login"] = *login
		}
	case "sourcecreate":
		for flagName, v := range map[string]string{"name": *name, "source-url": *srcURL, "source-key": *srcKey} {
			if err := need(flagName, v); err != nil {
				return err
			}
		}
		body["name"], body["url"], body["key"] = *name, *srcURL, *srcKey
	case "sourcedelete":
		if err := need("name", *name); err != nil {
			return err
		}
		body["name"] = *name
	case "accountcreate":
		if err := need("id", *id); err != nil {
			return err
		}
		body["id"], body["name"] = *id, *name
	case "accountupdate":
		if err := need("id", *id); err != nil {
			return err
		}
		body["id"] = *id
		if *name != "" {
			body["name"] = *name
		}
		if *quotaBytes >= 0 {
			body["quota_bytes"] = *quotaBytes
		}
	default:
		fmt.Fprint(stdout, adminUsage)
		return fmt.Errorf("unknown admin function %q", fn)
	}
	out, err := call(ctx, method, url, fn, key, body)
	if err != nil {
		return err
	}
	_, err = stdout.Write(out)
	return err
}

// serverTarget is the running server a command talks to, as flags say:
// --url, --key and --data (or CAIRN_URL, CAIRN_KEY, CAIRN_DATA).
type serverTarget struct{ url, key, data *string }

// targetFlags adds --url, --key (described by keyUsage) and --data to fs.
func targetFlags(fs *flag.FlagSet, getenv func(string) string, keyUsage string) serverTarget {
	return serverTarget{
		url:  fs.String("url", getenv("CAIRN_URL"), "server URL (default http://127.0.0.1:8700)"),
		key:  fs.String("key", getenv("CAIRN_KEY"), keyUsage),
		data: fs.String("data", getenv("CAIRN_DATA"), "data directory to read admin.json from when --key is not given"),
	}
}

// resolve returns, once the flags are parsed, the server's URL (by default
// the local one) and the key (by default the data directory's admin key;
// "" when there is none).
func (t serverTarget) resolve() (url, key string) {
	url, key = *t.url, *t.key
	if url == "" {
		url = "http://127.0.0.1:8700"
	}
	if key == "" {
		key = keyFromDataDir(*t.data)
	}
	return url, key
}

// keyFromDataDir returns the admin key value kept in dir's admin.json
// (dir "" is ./cairn-data), or "".
func keyFromDataDir(dir string) string {
	if dir == "" {
		dir = "cairn-data"
	}
	b, err := os.ReadFile(filepath.Join(dir, "admin.json"))
	if err != nil {
		return ""
	}
	var f struct {
		Value string `json:"value"`
	}
	if json.Unmarshal(b, &f) != nil {
		return ""
	}
	return f.Value
}

// call calls one native function with a JSON body (none when body is
// nil) and returns the pretty-printed JSON answer, or an error carrying
// the server's status, message and code (*client.Error).
func call(ctx context.Context, method, baseURL, fn, key string, body map[string]any) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	var b any
	if body != nil {
		b = body
	}
	raw, err := client.New(baseURL, key, nil).Call(ctx, method, fn, b)
	if err != nil {
		return nil, err
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return raw, nil
	}
	pretty, _ := json.MarshalIndent(v, "", "  ")
	return append(pretty, '\n'), nil
}

package events

// The change feed over NATS: when NATSOptions.Listen is set, the embedded
// server also listens for NATS clients, and one user, FeedUser, may read the
// log through JetStream consumers of its own. Everything else stays as it
// is without a listener.
//
// How the feed user is confined:
//
//   - It lives in its own NATS account (feedAccount), which holds no streams
//     and sees nothing of the global account, where the log, the request log
//     and Cairn's own connection ("cairn-core", a random password per start,
//     full rights) live. Whatever it publishes stays in its account, so it
//     can never write to cairn.> or cairnreq.>, nor see Cairn's inboxes.
//   - It reaches the log only through service imports of a few JetStream API
//     subjects, and its permissions allow only those subjects (and
//     subscriptions under _INBOX.>): no direct get, no STREAM.MSG.GET, no
//     purge, delete or update of a stream, no consumer list.
//   - Consumer creation, consumer info and delete and stream info are not
//     imported from JetStream itself but from a proxy that Cairn's
//     connection serves (feedProxy). It reads each creation request as the
//     server would and refuses push consumers (their deliver subject could
//     be any subject of the global account, cairnreq.> included), consumers
//     without a filter, and filters outside cairn.obj, cairn.svc, cairn.acct
//     and cairn.upl (so key and token events, cairn.key.>, never reach a
//     feed consumer); it marks the consumers it creates, and answers info
//     and delete only for consumers so marked. Stream info is answered
//     without per-subject details (subject names would list key ids).
//   - Pulling messages (CONSUMER.MSG.NEXT) and acknowledging them ($JS.ACK)
//     are imported from JetStream directly, for speed: they need the name of
//     a consumer, and the feed user can neither list consumers nor learn the
//     random names Cairn gives its own.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/cairnhq/cairn/schema"
)

const (
	// FeedUser is the NATS user change-feed consumers log in as.
	FeedUser = "consumer"
	// feedAccount is the NATS account of FeedUser.
	feedAccount = "CAIRN_FEED"
	// coreUser is the user of Cairn's own in-process connection.
	coreUser = "cairn-core"
	// feedProxyPrefix is where, in the global account, the proxy serves
	// the requests the feed account imports from it. It is not under
	// cairn.>, so no stream stores what is sent there.
	feedProxyPrefix = "_cairn.feed."
	// feedOwnerKey marks, in a consumer's metadata, the consumers made
	// through the proxy: those the feed user may inspect and delete.
	feedOwnerKey = "cairn_feed"
	// proxyTimeout bounds one JetStream API request made by the proxy.
	proxyTimeout = 10 * time.Second
)

// jsAPI is the prefix of the JetStream API subjects.
const jsAPI = "$JS.API."

// feedImport is one subject of the feed account served by the global
// account: to is the subject there ("" keeps it).
type feedImport struct {
	subject, to string
	streamed    bool // responses are a stream of messages (pull requests)
}

// feedImports lists what the feed account may call.
func feedImports() []feedImport {
	st := schema.StreamName
	return []feedImport{
		{subject: jsAPI + "INFO"},
		{subject: jsAPI + "STREAM.INFO." + st, to: feedProxyPrefix + "stream.info"},
		{subject: jsAPI + "CONSUMER.CREATE." + st + ".>", to: feedProxyPrefix + "create.>"},
		{subject: jsAPI + "CONSUMER.INFO." + st + ".*", to: feedProxyPrefix + "info.*"},
		{subject: jsAPI + "CONSUMER.DELETE." + st + ".*", to: feedProxyPrefix + "delete.*"},
		{subject: jsAPI + "CONSUMER.MSG.NEXT." + st + ".*", streamed: true},
		{subject: "$JS.ACK." + st + ".>"},
	}
}

// feedRoots are the second tokens of the subjects a feed consumer may
// filter on: cairn.obj.>, cairn.svc.>, cairn.acct.>, cairn.upl.>.
func feedRoots() []string { return []string{"obj", "svc", "acct", "upl"} }

// feedPermissions are FeedUser's permissions: publish only to the imported
// API subjects (consumer creation only in its filtered forms), subscribe
// only to inboxes.
func feedPermissions() *server.Permissions {
	st := schema.StreamName
	allow := []string{
		jsAPI + "INFO",
		jsAPI + "STREAM.INFO." + st,
		jsAPI + "CONSUMER.CREATE." + st + ".*", // several filters: in the body, checked by the proxy
		jsAPI + "CONSUMER.INFO." + st + ".*",
		jsAPI + "CONSUMER.DELETE." + st + ".*",
		jsAPI + "CONSUMER.MSG.NEXT." + st + ".*",
		"$JS.ACK." + st + ".>",
	}
	for _, r := range feedRoots() {
		allow = append(allow, jsAPI+"CONSUMER.CREATE."+st+".*."+schema.SubjectRoot+"."+r+".>")
	}
	return &server.Permissions{
		Publish:   &server.SubjectPermission{Allow: allow, Deny: []string{schema.SubjectRoot + ".>", schema.ReqSubjectPfx + ".>"}},
		Subscribe: &server.SubjectPermission{Allow: []string{"_INBOX.>"}},
	}
}

// feedAuth is the listener's setup, nil when there is no listener.
type feedAuth struct {
	corePassword string
}

// newFeedAuth configures sopts for a client listener on o.Listen with the
// feed account and users, or returns nil (and leaves sopts alone) when
// o.Listen is empty.
func newFeedAuth(o NATSOptions, sopts *server.Options) (*feedAuth, error) {
	if o.Listen == "" {
		return nil, nil
	}
	host, port, err := ParseNATSListen(o.Listen)
	if err != nil {
		return nil, err
	}
	if len(o.FeedPassword) < 16 {
		return nil, errors.New("events: the NATS feed password must be at least 16 characters")
	}
	global := server.NewAccount(server.DEFAULT_GLOBAL_ACCOUNT)
	feed := server.NewAccount(feedAccount)
	for _, im := range feedImports() {
		to := im.to
		if to == "" {
			to = im.subject
		}
		if im.streamed {
			err = global.AddServiceExportWithResponse(to, server.Streamed, []*server.Account{feed})
		} else {
			err = global.AddServiceExport(to, []*server.Account{feed})
		}
		if err == nil {
			err = feed.AddServiceImport(global, im.subject, to)
		}
		if err != nil {
			return nil, fmt.Errorf("events: feed import %s: %w", im.subject, err)
		}
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	f := &feedAuth{corePassword: NewKeyValue()}
	sopts.DontListen = false
	sopts.Host, sopts.Port = host, port
	sopts.Accounts = []*server.Account{global, feed}
	sopts.Users = []*server.User{
		{Username: coreUser, Password: f.corePassword}, // global account, every right
		{Username: FeedUser, Password: o.FeedPassword, Account: feed, Permissions: feedPermissions()},
	}
	return f, nil
}

// ParseNATSListen splits a NATS listen address, HOST:PORT (port 0 picks a
// free one).
func ParseNATSListen(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("nats listen %q: %w", addr, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 || host == "" {
		return "", 0, fmt.Errorf("nats listen %q: want HOST:PORT", addr)
	}
	return host, port, nil
}

// enable turns JetStream on for the global account. With other accounts
// configured the server enables it only for accounts configured for it,
// and the global account cannot be (its streams stay where they have
// always been, in DIR/jetstream/$G).
func (f *feedAuth) enable(ns *server.Server) error {
	if f == nil {
		return nil
	}
	if err := ns.GlobalAccount().EnableJetStream(nil, nil); err != nil {
		return fmt.Errorf("events: jetstream for the global account: %w", err)
	}
	return nil
}

// coreOptions are the options of Cairn's own connection.
func (f *feedAuth) coreOptions() []nats.Option {
	if f == nil {
		return nil
	}
	return []nats.Option{nats.UserInfo(coreUser, f.corePassword)}
}

// serve starts the proxy on Cairn's connection.
func (f *feedAuth) serve(nc *nats.Conn) error {
	if f == nil {
		return nil
	}
	p := &feedProxy{nc: nc}
	if _, err := nc.Subscribe(feedProxyPrefix+">", p.handle); err != nil {
		return fmt.Errorf("events: feed proxy: %w", err)
	}
	return nil
}

// feedProxy answers the feed account's consumer creation, consumer info
// and delete and stream info requests with Cairn's own connection, after
// checking them. Its answers are the JetStream API's own, or errors in the
// same shape.
type feedProxy struct {
	nc *nats.Conn
}

func (p *feedProxy) handle(m *nats.Msg) {
	if m.Reply == "" {
		return
	}
	rest := strings.TrimPrefix(m.Subject, feedProxyPrefix)
	op, arg, _ := strings.Cut(rest, ".")
	var resp []byte
	switch op {
	case "create":
		resp = p.create(arg, m.Data)
	case "info":
		resp = p.info(arg)
	case "delete":
		resp = p.delete(arg)
	case "stream": // stream.info: never the per-subject details a body could ask for
		resp = p.request(jsAPI+"STREAM.INFO."+schema.StreamName, nil)
	default:
		resp = apiError(400, 0, "unknown request")
	}
	_ = m.Respond(resp)
}

// create checks a consumer creation request (arg is the consumer name,
// then the filter subject if the client put it in the subject) and passes
// it on as the server will read it.
func (p *feedProxy) create(arg string, body []byte) []byte {
	name, _, _ := strings.Cut(arg, ".")
	if !validConsumerName(name) {
		return apiError(400, 0, "consumer name is not valid")
	}
	req, err := decodeCreate(body)
	if err != nil {
		return apiError(400, 0, "bad consumer create request: "+err.Error())
	}
	if req.Stream != schema.StreamName {
		return apiError(400, 10056, "stream name in subject does not match request")
	}
	if err := CheckFeedConsumer(&req.Config); err != nil {
		return apiError(403, 0, err.Error())
	}
	owned, found, resp := p.owned(name)
	if resp != nil {
		return resp
	}
	if found && !owned {
		return apiError(403, 0, "consumer name is taken")
	}
	if req.Config.Metadata == nil {
		req.Config.Metadata = map[string]string{}
	}
	req.Config.Metadata[feedOwnerKey] = FeedUser
	out, err := json.Marshal(req)
	if err != nil {
		return apiError(500, 0, "encode request")
	}
	// the subject keeps the client's form; the server checks the filter
	// it names against the (checked) config
	return p.request(jsAPI+"CONSUMER.CREATE."+schema.StreamName+"."+arg, out)
}

// decodeCreate reads a creation request as the server does (unknown
// fields refused), but as exactly one JSON value: the server would merge
// a second one into the first.
func decodeCreate(body []byte) (*server.CreateConsumerRequest, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var req server.CreateConsumerRequest
	if err := dec.Decode(&req); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("more than one JSON value")
	}
	return &req, nil
}

// CheckFeedConsumer reports why a feed consumer may not have cfg: it must
// be a pull consumer (no deliver subject, group, flow control or
// heartbeat; not a sourcing consumer) with at least one filter subject,
// each under cairn.obj, cairn.svc, cairn.acct or cairn.upl.
func CheckFeedConsumer(cfg *server.ConsumerConfig) error {
	if cfg.DeliverSubject != "" || cfg.DeliverGroup != "" || cfg.FlowControl || cfg.Heartbeat != 0 {
		return errors.New("feed consumers must be pull consumers (no deliver subject)")
	}
	if cfg.Direct || cfg.Sourcing {
		return errors.New("feed consumers cannot be direct or sourcing consumers")
	}
	filters := cfg.FilterSubjects
	if cfg.FilterSubject != "" {
		filters = append([]string{cfg.FilterSubject}, filters...)
	}
	if len(filters) == 0 {
		return errors.New("feed consumers need a filter subject under cairn.obj, cairn.svc, cairn.acct or cairn.upl")
	}
	for _, f := range filters {
		if !FeedFilterAllowed(f) {
			return fmt.Errorf("filter subject %q: feed consumers may read only cairn.obj, cairn.svc, cairn.acct and cairn.upl", f)
		}
	}
	return nil
}

// FeedFilterAllowed reports whether a feed consumer may filter on f: a
// valid subject of at least three tokens whose first two are "cairn" and
// one of obj, svc, acct, upl (never a wildcard, which would take in
// cairn.key.>).
func FeedFilterAllowed(f string) bool {
	toks := strings.Split(f, ".")
	if len(toks) < 3 || toks[0] != schema.SubjectRoot {
		return false
	}
	root := false
	for _, r := range feedRoots() {
		root = root || toks[1] == r
	}
	if !root {
		return false
	}
	for i, t := range toks {
		if t == "" || strings.ContainsAny(t, " \t\r\n") || (t == ">" && i != len(toks)-1) {
			return false
		}
	}
	return true
}

// validConsumerName reports whether name is one literal subject token.
func validConsumerName(name string) bool {
	return name != "" && name != "*" && name != ">" && !strings.ContainsAny(name, ". \t\r\n/\\")
}

// info answers consumer info for the feed's own consumers only; any other
// is "not found", as if it did not exist.
func (p *feedProxy) info(name string) []byte { return p.onOwned("INFO", name) }

// delete deletes one of the feed's own consumers.
func (p *feedProxy) delete(name string) []byte { return p.onOwned("DELETE", name) }

// onOwned sends the consumer API request op (INFO, DELETE) for consumer
// name when the proxy made that consumer, and answers "not found" for any
// other.
func (p *feedProxy) onOwned(op, name string) []byte {
	if !validConsumerName(name) {
		return apiError(404, 10014, "consumer not found")
	}
	owned, _, resp := p.owned(name)
	if resp != nil {
		return resp
	}
	if !owned {
		return apiError(404, 10014, "consumer not found")
	}
	return p.request(jsAPI+"CONSUMER."+op+"."+schema.StreamName+"."+name, nil)
}

// owned looks consumer name up: whether it exists and whether the proxy
// made it. resp is set when the lookup itself failed (the answer to give).
func (p *feedProxy) owned(name string) (owned, found bool, resp []byte) {
	b := p.request(jsAPI+"CONSUMER.INFO."+schema.StreamName+"."+name, nil)
	var info struct {
		Config *struct {
			Metadata map[string]string `json:"metadata"`
		} `json:"config"`
		Error *struct {
			ErrCode int `json:"err_code"`
		} `json:"error"`
	}
	if err := json.Unmarshal(b, &info); err != nil {
		return false, false, apiError(500, 0, "bad consumer info")
	}
	switch {
	case info.Error != nil && info.Error.ErrCode == 10014:
		return false, false, nil
	case info.Error != nil || info.Config == nil:
		return false, false, b
	}
	return info.Config.Metadata[feedOwnerKey] == FeedUser, true, nil
}

// request sends one JetStream API request on Cairn's connection and
// returns the answer's body.
func (p *feedProxy) request(subject string, body []byte) []byte {
	m, err := p.nc.Request(subject, body, proxyTimeout)
	if err != nil {
		return apiError(503, 0, "jetstream unavailable")
	}
	return m.Data
}

// apiError is a JetStream API error answer.
func apiError(code, errCode int, desc string) []byte {
	b, _ := json.Marshal(map[string]any{"error": map[string]any{"code": code, "err_code": errCode, "description": desc}})
	return b
}

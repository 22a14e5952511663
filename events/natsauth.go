package events

// The change feed over NATS: when NATSOptions.Listen is set, the embedded
// server also listens for NATS clients, who log in either as FeedUser (the
// server admin's consumer: every account) or with a feed credential of one
// Cairn account (feedcreds.go: a generated user and password, the log
// holding only the password's SHA-256), and read the log through
// JetStream consumers of their own. Everything else stays as it is without
// a listener.
//
// How feed users are confined:
//
//   - The server checks every login itself (feedAuth.Check, the server's
//     CustomClientAuthentication): Cairn's own connection ("cairn-core",
//     a random password per start, full rights, the global account),
//     FeedUser with its password, or a credential the projections hold
//     unrevoked, of an account that exists. Nothing else connects.
//   - Each feed user lives in a NATS account of its own: FeedUser in
//     feedAccount, each credential's user in "CAIRN_FEED_<user>" (made at
//     its first login). None holds streams or sees anything of the global
//     account, where the log, the request log and Cairn's own connection
//     live, nor of another feed user's account. Whatever a feed user
//     publishes stays in its account, so it can never write to cairn.> or
//     cairnreq.>, nor see Cairn's inboxes or another consumer's.
//   - A feed user reaches the log only through service imports of a few
//     JetStream API subjects, and its permissions allow only those
//     subjects: no direct get, no STREAM.MSG.GET, no purge, delete or
//     update of a stream, no consumer list.
//   - Consumer creation, consumer info and delete and stream info are not
//     imported from JetStream itself but from a proxy that Cairn's
//     connection serves (feedProxy), with import sharing on, so each
//     request carries its sender's account and user (the server's
//     Nats-Request-Info header, which it sets itself). The proxy reads
//     each creation request as the server would and refuses push
//     consumers (their deliver subject could be any subject of the global
//     account, cairnreq.> included), consumers without a filter, and
//     filters outside cairn.obj, cairn.svc, cairn.acct and cairn.upl (so
//     key, token and credential events, cairn.key.>, never reach a feed
//     consumer). For a credential it also refuses any filter outside its
//     account: the service token of cairn.obj, cairn.svc and cairn.upl
//     must be the hash of one of the account's services (no wildcard),
//     and that of cairn.acct the hash of the account. It marks each
//     consumer it creates with its creator's user and answers info and
//     delete only for the sender's own. Stream info is answered without
//     per-subject details (subject names would list key ids).
//   - Pulling messages (CONSUMER.MSG.NEXT) and acknowledging them
//     ($JS.ACK) are imported from JetStream directly, for speed (a client
//     may not publish with the reserved reply subjects a proxy would have
//     to pass on). FeedUser's account imports them for every consumer; a
//     credential's account only for the consumers the proxy created for
//     that user or answered info on as its own (grant). A consumer name a
//     credential's user was granted is never created for another user in
//     the server's lifetime, since a NATS import cannot be taken back.
//   - Revoking a credential (JetStream.RevokeFeedUser, called by the core
//     once the revocation is applied) closes its connections and deletes
//     its consumers; a login with it is refused from then on. Deleting a
//     service (JetStream.DropFeedService) deletes the credentials'
//     consumers that filter on it, since its id may later name another
//     account's service.

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cairnhq/cairn/schema"
)

const (
	// FeedUser is the NATS user of the server admin's change-feed
	// consumers: it may read every account's events. Each account's own
	// consumers log in with feed credentials instead (feedcreds.go).
	FeedUser = "consumer"
	// feedAccount is the NATS account of FeedUser.
	feedAccount = "CAIRN_FEED"
	// userAccountPrefix starts the NATS account of a feed credential's
	// user: userAccountPrefix + user.
	userAccountPrefix = feedAccount + "_"
	// coreUser is the user of Cairn's own in-process connection.
	coreUser = "cairn-core"
	// feedProxyPrefix is where, in the global account, the proxy serves
	// the requests the feed account imports from it. It is not under
	// cairn.>, so no stream stores what is sent there.
	feedProxyPrefix = "_cairn.feed."
	// feedOwnerKey marks, in a consumer's metadata, the consumers made
	// through the proxy, with the user that made them: those that user
	// may inspect, delete, pull from and acknowledge.
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

// proxyImports lists what every feed user's account imports: the account
// info, and what the proxy serves.
func proxyImports() []feedImport {
	st := schema.StreamName
	return []feedImport{
		{subject: jsAPI + "INFO"},
		{subject: jsAPI + "STREAM.INFO." + st, to: feedProxyPrefix + "stream.info"},
		{subject: jsAPI + "CONSUMER.CREATE." + st + ".>", to: feedProxyPrefix + "create.>"},
		{subject: jsAPI + "CONSUMER.INFO." + st + ".*", to: feedProxyPrefix + "info.*"},
		{subject: jsAPI + "CONSUMER.DELETE." + st + ".*", to: feedProxyPrefix + "delete.*"},
	}
}

// pullImports lists the pull and acknowledgement subjects of consumer
// name ("*" for every consumer, FeedUser's).
func pullImports(name string) []feedImport {
	st := schema.StreamName
	ack := "$JS.ACK." + st + "." + name + ".>"
	if name == "*" {
		ack = "$JS.ACK." + st + ".>"
	}
	return []feedImport{
		{subject: jsAPI + "CONSUMER.MSG.NEXT." + st + "." + name, streamed: true},
		{subject: ack},
	}
}

// addImports makes acc import ims from global, with sharing on for those
// the proxy serves (it learns who asks from the Nats-Request-Info header,
// which the server fills in only for shared imports).
func addImports(acc, global *server.Account, ims []feedImport) error {
	for _, im := range ims {
		to := im.to
		if to == "" {
			to = im.subject
		}
		err := acc.AddServiceImport(global, im.subject, to)
		if err == nil && im.to != "" {
			err = acc.SetServiceImportSharing(global, to, true)
		}
		if err != nil {
			return fmt.Errorf("events: feed import %s: %w", im.subject, err)
		}
	}
	return nil
}

// feedRoots are the second tokens of the subjects a feed consumer may
// filter on: cairn.obj.>, cairn.svc.>, cairn.acct.>, cairn.upl.>.
func feedRoots() []string { return []string{"obj", "svc", "acct", "upl"} }

// feedPermissions are a feed user's permissions: publish only to the
// imported API subjects (consumer creation only in its filtered forms),
// subscribe only to inboxes.
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

// FeedLookup is what the NATS listener reads of the projections: a
// credential to check a login, and the services and accounts its
// consumers' filters must belong to.
type FeedLookup interface {
	FeedCredential(ctx context.Context, user string) (*schema.FeedCredential, error)
	Account(ctx context.Context, id string) (*schema.Account, error)
	Service(ctx context.Context, id string) (*schema.Service, error)
	Services(ctx context.Context) ([]*schema.Service, error)
}

// lookupBox holds a FeedLookup in an atomic.Pointer (an interface value
// cannot be one).
type lookupBox struct{ FeedLookup }

// feedAuth is the listener's setup, nil when there is no listener.
type feedAuth struct {
	corePassword string
	feedPassword string
	// feed and global are FeedUser's account and the global account as
	// the running server registered them (copies of those in its
	// options), set by enable: nil until then, and feed users are refused.
	feed   atomic.Pointer[server.Account]
	global atomic.Pointer[server.Account]
	lookup atomic.Pointer[lookupBox] // nil until the projections are open
	ns     atomic.Pointer[server.Server]
	proxy  *feedProxy

	mu      sync.Mutex
	granted map[string]map[string]bool // consumer names imported, by credential user
}

// newFeedAuth configures sopts for a client listener on o.Listen with the
// feed account and the server's own authentication, or returns nil (and
// leaves sopts alone) when o.Listen is empty.
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
	// The exports are public: the credentials' accounts are made while
	// the server runs, and no account imports anything but what Cairn
	// gives it (clients cannot).
	for _, im := range append(proxyImports(), pullImports("*")...) {
		to := im.to
		if to == "" {
			to = im.subject
		}
		if im.streamed {
			err = global.AddServiceExportWithResponse(to, server.Streamed, nil)
		} else {
			err = global.AddServiceExport(to, nil)
		}
		if err != nil {
			return nil, fmt.Errorf("events: feed export %s: %w", to, err)
		}
	}
	if err := addImports(feed, global, append(proxyImports(), pullImports("*")...)); err != nil {
		return nil, err
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	f := &feedAuth{corePassword: NewKeyValue(), feedPassword: o.FeedPassword, granted: map[string]map[string]bool{}}
	f.proxy = &feedProxy{auth: f, claims: map[string]string{}, hashes: map[string]string{}}
	sopts.DontListen = false
	sopts.Host, sopts.Port = host, port
	sopts.Accounts = []*server.Account{global, feed}
	sopts.CustomClientAuthentication = f
	return f, nil
}

// Check authenticates one client connection (server.Authentication):
// Cairn's own, FeedUser or an unrevoked feed credential, with a user name
// and password only (a connection that also presents an nkey, a JWT or a
// token is refused: the server would report that instead of the user to
// the proxy).
func (f *feedAuth) Check(c server.ClientAuthentication) bool {
	o := c.GetOpts()
	if c.Kind() != server.CLIENT || o == nil || o.Nkey != "" || o.JWT != "" || o.Token != "" || o.Sig != "" {
		return false
	}
	feed := f.feed.Load()
	switch {
	case o.Username == coreUser:
		if !secretEqual(o.Password, f.corePassword) {
			return false
		}
		c.RegisterUser(&server.User{Username: coreUser}) // the global account, every right
		return true
	case feed == nil:
		return false
	case o.Username == FeedUser:
		if !secretEqual(o.Password, f.feedPassword) {
			return false
		}
		c.RegisterUser(&server.User{Username: FeedUser, Account: feed, Permissions: feedPermissions()})
		return true
	case schema.ValidFeedUser(o.Username):
		ctx, cancel := context.WithTimeout(context.Background(), proxyTimeout)
		defer cancel()
		cred, err := f.credential(ctx, o.Username)
		if err != nil || !secretEqual(LookupHash(o.Password), cred.Verifier) {
			return false
		}
		acc, err := f.userAccount(o.Username)
		if err != nil {
			return false
		}
		c.RegisterUser(&server.User{Username: o.Username, Account: acc, Permissions: feedPermissions()})
		return true
	}
	return false
}

// userAccount returns the NATS account of a credential's user, made with
// the proxy's imports at its first login.
func (f *feedAuth) userAccount(user string) (*server.Account, error) {
	ns, global := f.ns.Load(), f.global.Load()
	if ns == nil || global == nil {
		return nil, errors.New("events: the NATS server is not ready")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	acc, isNew := ns.LookupOrRegisterAccount(userAccountPrefix + user)
	if isNew {
		if err := addImports(acc, global, proxyImports()); err != nil {
			return nil, err
		}
		f.granted[user] = map[string]bool{}
	}
	return acc, nil
}

// grant lets user's account pull from and acknowledge consumer name.
func (f *feedAuth) grant(user, name string) error {
	ns, global := f.ns.Load(), f.global.Load()
	if ns == nil || global == nil {
		return errors.New("events: the NATS server is not ready")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.granted[user] == nil || f.granted[user][name] {
		return nil
	}
	acc, err := ns.LookupAccount(userAccountPrefix + user)
	if err != nil {
		return err
	}
	if err := addImports(acc, global, pullImports(name)); err != nil {
		return err
	}
	f.granted[user][name] = true
	return nil
}

// secretEqual compares two secrets in time independent of where they
// differ.
func secretEqual(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// credential returns user's credential when it may be used: known, not
// revoked, of an account that exists. Without projections yet, none may.
func (f *feedAuth) credential(ctx context.Context, user string) (*schema.FeedCredential, error) {
	lb := f.lookup.Load()
	if lb == nil {
		return nil, schema.Errorf(schema.KindUnavailable, "feed credentials are not loaded yet")
	}
	cred, err := lb.FeedCredential(ctx, user)
	if err != nil {
		return nil, err
	}
	if cred.Revoked {
		return nil, schema.Errorf(schema.KindNotFound, "feed credential not found")
	}
	acct, err := lb.Account(ctx, cred.Account)
	if err != nil {
		return nil, err
	}
	if acct.Created.After(cred.Created) {
		// the account it was made for was deleted; this one only has its
		// id: a credential never outlives its account
		return nil, schema.Errorf(schema.KindNotFound, "feed credential not found")
	}
	return cred, nil
}

// SetFeedLookup gives the NATS listener the projections it checks feed
// credentials and their consumers' filters against. Until it is called,
// only Cairn's own connection and FeedUser log in. Without a listener it
// does nothing.
func (l *JetStream) SetFeedLookup(lookup FeedLookup) {
	if l.feed == nil || lookup == nil {
		return
	}
	l.feed.lookup.Store(&lookupBox{lookup})
}

// RevokeFeedUser ends what a revoked feed credential still holds: its
// connections are closed and its consumers deleted. A later login with it
// is refused by Check, and a pull on a consumer it made by the proxy, so
// what this misses (a failure midway) still serves nothing.
func (l *JetStream) RevokeFeedUser(ctx context.Context, user string) error {
	if l.feed == nil || !schema.ValidFeedUser(user) {
		return nil
	}
	if ns := l.feed.ns.Load(); ns != nil {
		for offset := 0; ; {
			cz, err := ns.Connz(&server.ConnzOptions{Username: true, User: user, Account: userAccountPrefix + user, Offset: offset, Limit: 1024})
			if err != nil {
				return fmt.Errorf("events: connections of %s: %w", user, err)
			}
			for _, c := range cz.Conns {
				_ = ns.DisconnectClientByID(c.Cid) // one already gone is as good
			}
			if len(cz.Conns) < 1024 {
				break
			}
			offset += len(cz.Conns)
		}
	}
	return l.deleteFeedConsumers(ctx, func(owner string, _ []string) bool { return owner == user })
}

// DropFeedService deletes the consumers of feed credentials that filter
// on service sid, which was deleted: its id may name another account's
// service next. FeedUser's consumers, the server admin's, stay.
func (l *JetStream) DropFeedService(ctx context.Context, sid string) error {
	if l.feed == nil {
		return nil
	}
	h := schema.Hash(sid)
	return l.deleteFeedConsumers(ctx, func(owner string, filters []string) bool {
		if !schema.ValidFeedUser(owner) {
			return false
		}
		for _, f := range filters {
			if toks := strings.Split(f, "."); len(toks) > 2 && toks[1] != "acct" && toks[2] == h {
				return true
			}
		}
		return false
	})
}

// deleteFeedConsumers deletes the consumers the proxy made (by owner and
// filters) that drop says to.
func (l *JetStream) deleteFeedConsumers(ctx context.Context, drop func(owner string, filters []string) bool) error {
	names := l.stream.ListConsumers(ctx)
	var doomed []string
	for info := range names.Info() {
		cfg := info.Config
		filters := cfg.FilterSubjects
		if cfg.FilterSubject != "" {
			filters = append([]string{cfg.FilterSubject}, filters...)
		}
		if owner := cfg.Metadata[feedOwnerKey]; owner != "" && drop(owner, filters) {
			doomed = append(doomed, info.Name)
		}
	}
	if err := names.Err(); err != nil {
		return fmt.Errorf("events: feed consumers: %w", err)
	}
	for _, name := range doomed {
		if err := l.stream.DeleteConsumer(ctx, name); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
			return fmt.Errorf("events: delete feed consumer %s: %w", name, err)
		}
	}
	return nil
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
	f.ns.Store(ns)
	feed, err := ns.LookupAccount(feedAccount)
	if err != nil {
		return fmt.Errorf("events: the feed account: %w", err)
	}
	f.feed.Store(feed)
	f.global.Store(ns.GlobalAccount())
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
	f.proxy.nc = nc
	if _, err := nc.Subscribe(feedProxyPrefix+">", f.proxy.handle); err != nil {
		return fmt.Errorf("events: feed proxy: %w", err)
	}
	return nil
}

// feedProxy answers the feed users' consumer creation, consumer info and
// delete and stream info requests with Cairn's own connection, after
// checking them. Its answers are the JetStream API's own, or errors in the
// same shape. Its handler runs on one goroutine (one subscription); the
// lock guards its maps all the same.
type feedProxy struct {
	nc   *nats.Conn
	auth *feedAuth

	mu sync.Mutex
	// claims holds, by consumer name, the user the proxy created the
	// consumer for, in this server's lifetime: a credential's account
	// keeps its import of a name (NATS cannot take one back), so the name
	// is never created for another user, even after a deletion.
	claims map[string]string
	// hashes maps the subject hash of a service id to the id, for the
	// services seen so far: a miss reads the services again.
	hashes map[string]string
}

// feedClient is who sent a request: a feed user and, for a credential,
// its account ("" for FeedUser, which may read every account).
type feedClient struct {
	user, account string
}

// requestInfo is the part of the server's Nats-Request-Info header the
// proxy reads.
type requestInfo struct {
	Account string `json:"acc"`
	User    string `json:"user"`
}

// client returns who sent m, from the header the server set (it replaces
// any the client sent), or an error answer. The NATS account says it as
// much as the user does: each credential's user has an account of its
// own.
func (p *feedProxy) client(ctx context.Context, m *nats.Msg) (*feedClient, []byte) {
	var ri requestInfo
	if m.Header == nil || json.Unmarshal([]byte(m.Header.Get(server.ClientInfoHdr)), &ri) != nil {
		return nil, apiError(403, 0, "unknown requester")
	}
	switch {
	case ri.Account == feedAccount && ri.User == FeedUser:
		return &feedClient{user: FeedUser}, nil
	case ri.Account == userAccountPrefix+ri.User && schema.ValidFeedUser(ri.User):
		cred, err := p.auth.credential(ctx, ri.User)
		if err != nil {
			return nil, apiError(403, 0, "the feed credential is revoked")
		}
		return &feedClient{user: ri.User, account: cred.Account}, nil
	}
	return nil, apiError(403, 0, "unknown requester")
}

func (p *feedProxy) handle(m *nats.Msg) {
	if m.Reply == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), proxyTimeout)
	defer cancel()
	who, refused := p.client(ctx, m)
	if refused != nil {
		_ = m.Respond(refused)
		return
	}
	rest := strings.TrimPrefix(m.Subject, feedProxyPrefix)
	op, arg, _ := strings.Cut(rest, ".")
	var resp []byte
	switch op {
	case "create":
		resp = p.create(ctx, who, arg, m.Data)
	case "info":
		resp = p.info(who, arg)
	case "delete":
		resp = p.delete(who, arg)
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
func (p *feedProxy) create(ctx context.Context, who *feedClient, arg string, body []byte) []byte {
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
	if who.account != "" {
		for _, f := range consumerFilters(&req.Config) {
			if !p.inAccount(ctx, who.account, f) {
				return apiError(403, 0, fmt.Sprintf("filter subject %q: a feed credential of account %q reads only its services' and its account's subjects, each service named by its hash", f, who.account))
			}
		}
	}
	p.mu.Lock()
	claimed, isClaimed := p.claims[name]
	p.mu.Unlock()
	if isClaimed && claimed != who.user {
		return apiError(403, 0, "consumer name is taken")
	}
	owner, resp := p.owner(name)
	if resp != nil {
		return resp
	}
	if owner != "" && owner != who.user {
		return apiError(403, 0, "consumer name is taken")
	}
	if req.Config.Metadata == nil {
		req.Config.Metadata = map[string]string{}
	}
	req.Config.Metadata[feedOwnerKey] = who.user
	out, err := json.Marshal(req)
	if err != nil {
		return apiError(500, 0, "encode request")
	}
	p.mu.Lock()
	p.claims[name] = who.user
	p.mu.Unlock()
	// the subject keeps the client's form; the server checks the filter
	// it names against the (checked) config
	b := p.request(jsAPI+"CONSUMER.CREATE."+schema.StreamName+"."+arg, out)
	if !isAPIError(b) {
		if resp := p.grant(who, name); resp != nil {
			return resp
		}
	}
	return b
}

// grant lets a credential's user pull from its consumer name (FeedUser
// may pull from any already).
func (p *feedProxy) grant(who *feedClient, name string) []byte {
	if who.account == "" {
		return nil
	}
	if err := p.auth.grant(who.user, name); err != nil {
		return apiError(503, 0, "feed import unavailable")
	}
	return nil
}

// consumerFilters returns a consumer's filter subjects.
func consumerFilters(cfg *server.ConsumerConfig) []string {
	filters := cfg.FilterSubjects
	if cfg.FilterSubject != "" {
		filters = append([]string{cfg.FilterSubject}, filters...)
	}
	return filters
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
	filters := consumerFilters(cfg)
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

// FeedFilterInAccount reports whether a consumer of account's feed
// credential may filter on f: an allowed feed filter (FeedFilterAllowed)
// whose third token is the subject hash of account for cairn.acct, and
// for cairn.obj, cairn.svc and cairn.upl the hash of a service that
// serviceAccount says belongs to account. A wildcard there is refused: it
// would take in every account's services.
func FeedFilterInAccount(f, account string, serviceAccount func(hash string) (string, bool)) bool {
	if !FeedFilterAllowed(f) {
		return false
	}
	toks := strings.Split(f, ".")
	owner := toks[2]
	if owner == "*" || owner == ">" {
		return false
	}
	if toks[1] == "acct" {
		return owner == schema.Hash(account)
	}
	acct, ok := serviceAccount(owner)
	return ok && acct == account
}

// inAccount is FeedFilterInAccount over the projections.
func (p *feedProxy) inAccount(ctx context.Context, account, f string) bool {
	return FeedFilterInAccount(f, account, func(hash string) (string, bool) {
		svc, ok := p.serviceOf(ctx, hash)
		if !ok {
			return "", false
		}
		return svc.Account, true
	})
}

// serviceOf returns the service whose id has subject hash h.
func (p *feedProxy) serviceOf(ctx context.Context, h string) (*schema.Service, bool) {
	lb := p.auth.lookup.Load()
	if lb == nil {
		return nil, false
	}
	p.mu.Lock()
	id, ok := p.hashes[h]
	p.mu.Unlock()
	if !ok {
		all, err := lb.Services(ctx)
		if err != nil {
			return nil, false
		}
		p.mu.Lock()
		for _, s := range all {
			p.hashes[schema.Hash(s.ID)] = s.ID
		}
		id, ok = p.hashes[h]
		p.mu.Unlock()
		if !ok {
			return nil, false
		}
	}
	svc, err := lb.Service(ctx, id)
	if err != nil {
		return nil, false
	}
	return svc, true
}

// validConsumerName reports whether name is one literal subject token.
func validConsumerName(name string) bool {
	return name != "" && name != "*" && name != ">" && !strings.ContainsAny(name, ". \t\r\n/\\")
}

// info answers consumer info for the sender's own consumers only; any
// other is "not found", as if it did not exist. A credential's user that
// learns its consumer so (a client starting again) may pull from it.
func (p *feedProxy) info(who *feedClient, name string) []byte {
	b := p.onOwned(who, "INFO", name)
	if !isAPIError(b) {
		if resp := p.grant(who, name); resp != nil {
			return resp
		}
	}
	return b
}

// delete deletes one of the sender's own consumers.
func (p *feedProxy) delete(who *feedClient, name string) []byte {
	return p.onOwned(who, "DELETE", name)
}

// onOwned sends the consumer API request op (INFO, DELETE) for consumer
// name when the sender made that consumer, and answers "not found" for
// any other.
func (p *feedProxy) onOwned(who *feedClient, op, name string) []byte {
	if !validConsumerName(name) {
		return apiError(404, 10014, "consumer not found")
	}
	owner, resp := p.owner(name)
	if resp != nil {
		return resp
	}
	if owner != who.user {
		return apiError(404, 10014, "consumer not found")
	}
	return p.request(jsAPI+"CONSUMER."+op+"."+schema.StreamName+"."+name, nil)
}

// owner returns the user the proxy made consumer name for ("" when it
// does not exist; coreUser, never a feed user, for Cairn's own, which
// have no owner). resp is set when the lookup itself failed (the answer
// to give).
func (p *feedProxy) owner(name string) (string, []byte) {
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
		return "", apiError(500, 0, "bad consumer info")
	}
	switch {
	case info.Error != nil && info.Error.ErrCode == 10014:
		return "", nil
	case info.Error != nil || info.Config == nil:
		return "", b
	}
	if owner := info.Config.Metadata[feedOwnerKey]; owner != "" {
		return owner, nil
	}
	return coreUser, nil
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

// isAPIError reports whether a JetStream API answer is an error.
func isAPIError(b []byte) bool {
	var r struct {
		Error *json.RawMessage `json:"error"`
	}
	return json.Unmarshal(b, &r) != nil || r.Error != nil
}

// apiError is a JetStream API error answer.
func apiError(code, errCode int, desc string) []byte {
	b, _ := json.Marshal(map[string]any{"error": map[string]any{"code": code, "err_code": errCode, "description": desc}})
	return b
}

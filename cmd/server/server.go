package server

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/cairnhq/cairn/blobstore"
	"github.com/cairnhq/cairn/events"
	"github.com/cairnhq/cairn/events/datadir"
	"github.com/cairnhq/cairn/events/replication"
	"github.com/cairnhq/cairn/handlers"
	"github.com/cairnhq/cairn/handlers/access"
	"github.com/cairnhq/cairn/handlers/audit"
	"github.com/cairnhq/cairn/handlers/httpx"
	"github.com/cairnhq/cairn/handlers/native"
	"github.com/cairnhq/cairn/handlers/native/client"
	"github.com/cairnhq/cairn/handlers/s3"
	"github.com/cairnhq/cairn/handlers/swift"
	"github.com/cairnhq/cairn/projections"
	"github.com/cairnhq/cairn/schema"
)

// Server is one running Cairn.
type Server struct {
	Config     Config
	Log        *events.JetStream
	State      *projections.Store
	Blobs      *blobstore.FS
	Core       *events.Core
	Caches     *events.Caches // the cache services, their copies in DATA/caches
	Handler    http.Handler
	AdminKeyID string
	AdminKey   string
	// AdminKeyGenerated is true when the admin key was made on this start.
	AdminKeyGenerated bool
	// SigningKey signs the hash chain's checkpoints (DATA/checkpoint.key).
	SigningKey ed25519.PrivateKey
	// NATSUser and NATSPassword log a change-feed consumer in at NATSURL()
	// (set with Config.NATSListen; the password is kept in DATA/nats.json).
	NATSUser, NATSPassword string
	// ReadOnlyAt is where a read-only server (Config.ReadOnly) stands; nil
	// otherwise.
	ReadOnlyAt *datadir.Moment
	// Scrubber verifies every blob in the background (Config.ScrubInterval)
	// and answers blobhealth.
	Scrubber *events.Scrubber

	logger   *slog.Logger
	replicas *replication.Follower
	http     *http.Server
	ln       net.Listener
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	lock     *os.File
	closeOne sync.Once

	// stopFeeds ends the change feed's long polls and event streams when
	// shutdown begins, so that HTTP can drain.
	stopFeeds context.CancelFunc
}

// Open starts everything but the HTTP listener: the log, the projections
// (caught up with the log before Open returns), the core, the reaper and
// the collector.
func Open(ctx context.Context, cfg Config, logger *slog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	pit, err := datadir.CheckServable(cfg.Data, cfg.ReadOnly, cfg.AdminKeyID == "")
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
		return nil, err
	}
	s := &Server{Config: cfg, logger: logger}
	ok := false
	defer func() {
		if !ok {
			s.shutdown(context.Background())
		}
	}()
	if s.lock, err = datadir.Lock(cfg.Data); err != nil {
		return nil, err
	}
	interval, _ := cfg.syncInterval()
	var space *blobstore.Space
	if !cfg.ReadOnly { // the log, the blobs and the projections share the data directory's disk
		space = blobstore.NewSpace(cfg.DiskReserve, cfg.Data,
			filepath.Join(cfg.Data, datadir.BlobsDir), filepath.Join(cfg.Data, datadir.LogDir))
	}
	nopts, err := s.natsFeed(events.NATSOptions{Dir: cfg.Data, SyncAlways: interval == 0,
		SyncInterval: interval, Name: cfg.Name, Space: space, AfterReopen: s.afterLogReopen})
	if err != nil {
		return nil, err
	}
	s.Log, err = events.OpenJetStream(ctx, nopts)
	if err != nil {
		return nil, err
	}
	// a log missing events in its middle (a damaged block) is not served:
	// the error names the file and what to run (cairn recover); only a
	// point-in-time copy made before the damage (rebuild --until) is
	if err := datadir.CheckLog(ctx, cfg.Data, s.Log); err != nil {
		var d *datadir.DamageError
		if !errors.As(err, &d) || !cfg.ReadOnly || pit == nil || pit.Seq >= d.First() {
			return nil, err
		}
	}
	if s.Blobs, err = blobstore.OpenFS(filepath.Join(cfg.Data, datadir.BlobsDir)); err != nil {
		return nil, err
	}
	if err := s.openState(ctx, pit); err != nil {
		return nil, err
	}
	s.Log.SetFeedLookup(s.State) // feed credentials log in once the projections can check them
	secret, err := events.LoadOrCreateSecret(filepath.Join(cfg.Data, datadir.SecretFile))
	if err != nil {
		return nil, err
	}
	if s.SigningKey, err = events.LoadOrCreateSigningKey(filepath.Join(cfg.Data, datadir.SigningKeyFile)); err != nil {
		return nil, err
	}
	sealer, err := events.NewSealer(secret)
	if err != nil {
		return nil, err
	}
	s.Core = events.NewCore(s.Log, s.Blobs, s.State, sealer, events.Options{
		InlineMax: cfg.InlineMax, MaxObjectSize: cfg.MaxObjectSize, Clock: cfg.Clock,
		ReadOnly: cfg.ReadOnly, ReadOnlyReason: s.readOnlyReason(), Space: space})
	if err := s.adminKey(); err != nil {
		return nil, err
	}

	runCtx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	if !cfg.ReadOnly { // a read-only server serves the projections as they are
		last, err := s.catchUp(ctx)
		var ge *events.GapError
		if errors.As(err, &ge) { // a record damaged in place: name it and the way out
			return nil, datadir.GapDamage(cfg.Data, ge.Gap)
		}
		if err != nil {
			return nil, err
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.runProjections(runCtx, cfg.Data)
		}()
		if last > 0 {
			if ev, err := s.Log.Get(ctx, last); err == nil {
				s.Core.SeedTime(ev.Time)
			}
		}
		if err := s.Core.EnsureAccount(ctx, schema.DefaultAccount, "Default account"); err != nil {
			return nil, fmt.Errorf("default account: %w", err)
		}
	}

	auth := access.New(s.State, s.AdminKeyID, s.AdminKey)
	feeds, stopFeeds := context.WithCancel(context.Background())
	s.stopFeeds = stopFeeds
	s.replicas = replication.New(s.Core, s.State, replication.Options{Wait: time.Duration(cfg.ReplicationWait), Log: logger,
		Connect: primaryClient(time.Duration(cfg.ReplicationWait))})
	reqs := s.requests()
	if err := s.openCaches(ctx); err != nil {
		return nil, err
	}
	s.Scrubber = events.NewScrubber(s.Core, events.ScrubOptions{Interval: time.Duration(cfg.ScrubInterval), BytesPerSecond: cfg.ScrubRate,
		Repair: repairClient()})
	nat := native.New(native.Deps{Core: s.Core, State: s.State, Auth: auth, Requests: reqs, Log: logger,
		Feed: s.feed(), Stop: feeds.Done(), Replicas: s.replicas, Caches: s.Caches, Blobs: s.Scrubber})
	s3h := s3.New(s3.Deps{Core: s.Core, State: s.State, Auth: auth, Requests: reqs, Log: logger})
	sw := swift.New(swift.Deps{Core: s.Core, State: s.State, Auth: auth, Requests: reqs, Log: logger, PublicURL: cfg.PublicURL,
		Region: cfg.SwiftRegion})
	aud := audit.New(s.Log, s.Blobs, auth, events.PublicKeyHex(s.SigningKey), logger)
	s.Handler = handlers.New(logger, nat, s3h, sw, aud) // S3 first: it claims only signed requests, so a bucket named "v1" or "info" stays S3's

	if cfg.ReadOnly {
		// no background writer: reaper, checkpoints, collector, retention, replication
		ok = true
		return s, nil
	}

	s.wg.Add(1)
	go func() { defer s.wg.Done(); s.Core.RunReaper(runCtx, time.Duration(cfg.ReapInterval), logger) }()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.Core.RunCheckpoints(runCtx, s.SigningKey, time.Duration(cfg.CheckpointInterval), logger)
	}()
	s.wg.Add(1)
	go func() { defer s.wg.Done(); s.Core.RunRetention(runCtx, time.Duration(cfg.RetainInterval), logger) }()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.Core.RunCollector(runCtx, time.Duration(cfg.GCInterval), time.Duration(cfg.GCGrace), logger)
	}()
	if cfg.UploadMaxAge > 0 { // 0: uploads stay open until completed or aborted
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.Core.RunUploadReaper(runCtx, time.Duration(cfg.UploadReapInterval), time.Duration(cfg.UploadMaxAge), logger)
		}()
	}
	if cfg.ScrubInterval > 0 { // 0: no scrubbing (reads still verify what they serve)
		s.wg.Add(1)
		go func() { defer s.wg.Done(); s.Scrubber.Run(runCtx, logger) }()
	}
	s.replicas.Start()
	ok = true
	return s, nil
}

// afterLogReopen checks the log the appender reopened after a write
// failed in its store (events.NATSOptions.AfterReopen): when it recovered
// less than the projections already applied, the two disagree and the
// projections must not be written on; a restart moves them aside and
// rebuilds them from the log (datadir.OpenProjections).
func (s *Server) afterLogReopen(last uint64) error {
	applied := uint64(0)
	if s.State != nil {
		applied = s.State.Applied()
	}
	if applied > last {
		s.logger.Error("the event log was reopened after a failed write and ends before events the projections applied; writes are refused until a restart rebuilds the projections from the log",
			"log_last_seq", last, "applied", applied)
		return schema.Errorf(schema.KindUnavailable,
			"the event log lost events after a failed write: writes are refused until the server is restarted")
	}
	s.logger.Warn("the event log's store was reopened after a failed write", "log_last_seq", last, "applied", applied)
	return nil
}

// runProjections applies the log until ctx ends. When the runner stops
// with an error it is restarted after a pause; meanwhile waiters get an
// error at once instead of hanging.
func (s *Server) runProjections(ctx context.Context, dir string) {
	for {
		err := s.State.Run(ctx, s.Log)
		if ctx.Err() != nil {
			return
		}
		var fe *projections.FoldError
		if errors.As(err, &fe) { // the same event would stop it again: no retry
			s.logger.Error("projection runner stopped at an event this version cannot fold; reads stay at the event before it and writes are refused until a cairn that can fold it runs",
				"seq", fe.Seq, "type", fe.Type, "err", err, "applied", s.State.Applied())
			s.State.Fail(err)
			return
		}
		var ge *events.GapError
		if errors.As(err, &ge) { // a damaged record: every later event would be folded without it
			d := datadir.GapDamage(dir, ge.Gap)
			s.logger.Error("projection runner stopped at events missing from the log; reads stay at the event before them and writes are refused",
				"err", d.Error(), "applied", s.State.Applied())
			s.State.Fail(d)
			return
		}
		s.logger.Error("projection runner stopped; restarting in 1s", "err", err, "applied", s.State.Applied())
		s.State.Fail(err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
		s.State.Fail(nil)
	}
}

// openProjections opens the buntdb file for a server that folds the log
// (datadir.OpenProjections): one that cannot be read, or that is ahead of
// the log (the log lost its tail), is moved aside and rebuilt from the log,
// and the log says so.
func openProjections(ctx context.Context, path string, log datadir.LastSeqer, logger *slog.Logger) (*projections.Store, error) {
	st, re, err := datadir.OpenProjections(ctx, path, log)
	if err != nil {
		return nil, err
	}
	var ahead *datadir.AheadError
	var layout *projections.LayoutError
	switch {
	case re == nil:
	case errors.As(re.Err, &layout):
		logger.Info("projections written by an older version (another key layout); rebuilding them from the log",
			"layout", layout.Have, "moved_to", re.Aside)
	case errors.As(re.Err, &ahead):
		logger.Error("projections are ahead of the log: the log lost its newest events (a power loss under a sync interval, or a damaged "+
			"or cut block file); the projections are rebuilt from the log, and what the lost events wrote is gone",
			"projections_applied", ahead.Applied, "log_last", ahead.LogLast, "lost_events", ahead.Lost(),
			"lost_from_seq", ahead.LogLast+1, "moved_to", re.Aside)
	default:
		logger.Warn("projections unreadable; rebuilding from the log", "err", re.Err, "moved_to", re.Aside)
	}
	return st, nil
}

// catchUp folds the whole log into the projections before the server
// serves (projections.Store.CatchUp), logging progress for long replays,
// and returns the log's last sequence.
func (s *Server) catchUp(ctx context.Context) (uint64, error) {
	last, err := s.Log.LastSeq(ctx)
	if err != nil {
		return 0, err
	}
	start, from := time.Now(), s.State.Applied()
	long := last > from+10000
	if long {
		s.logger.Info("replaying the log into the projections", "from", from, "to", last)
	}
	told := start
	err = s.State.CatchUp(ctx, s.Log, last, func(applied, total uint64) {
		if time.Since(told) >= 2*time.Second {
			s.logger.Info("replaying", "applied", applied, "of", total)
			told = time.Now()
		}
	})
	if err != nil {
		return 0, err
	}
	if long {
		s.logger.Info("projections caught up", "events", last-from, "took", time.Since(start))
	}
	return last, nil
}

// primaryClient connects the replication follower to a primary with the
// native client: each request may take the long poll's wait and a minute.
func primaryClient(wait time.Duration) func(src *schema.Source, key string) replication.Primary {
	hc := &http.Client{Timeout: wait + 60*time.Second}
	return func(src *schema.Source, key string) replication.Primary { return client.New(src.URL, key, hc) }
}

// repairClient lets the scrubber fetch good copies of damaged blobs from
// replication sources with the native client. A copy may be large, so no
// overall timeout: a server that does not answer within a minute fails
// the attempt, and the pass's context ends a transfer at shutdown.
func repairClient() events.RepairSource {
	tr := http.DefaultTransport.(*http.Transport).Clone() // this server's own connections
	tr.ResponseHeaderTimeout = time.Minute
	return repairSource{hc: &http.Client{Transport: tr}}
}

type repairSource struct{ hc *http.Client }

// GetFile implements events.RepairSource.
func (r repairSource) GetFile(ctx context.Context, src *schema.Source, key, sid, path, version string) (io.ReadCloser, error) {
	resp, err := client.New(src.URL, key, r.hc).GetFile(ctx, sid, path, version)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

type adminFile struct {
	ID    string `json:"id"`
	Value string `json:"value"`
}

// adminKey takes the admin key from the config, or from Data/admin.json,
// or makes one and keeps it there (mode 0600).
func (s *Server) adminKey() error {
	if s.Config.AdminKeyID != "" {
		s.AdminKeyID, s.AdminKey = s.Config.AdminKeyID, s.Config.AdminKey
		return nil
	}
	path := filepath.Join(s.Config.Data, datadir.AdminFile)
	var f adminFile
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := json.Unmarshal(b, &f); err != nil || f.ID == "" || f.Value == "" {
			return fmt.Errorf("%s: not a valid admin key file", path)
		}
	case errors.Is(err, os.ErrNotExist):
		f = adminFile{ID: events.NewKeyID(), Value: events.NewKeyValue()}
		b, _ := json.MarshalIndent(f, "", "  ")
		if err := events.WriteFileSync(path, b, 0o600); err != nil {
			return err
		}
		s.AdminKeyGenerated = true
	default:
		return err
	}
	s.AdminKeyID, s.AdminKey = f.ID, f.Value
	return nil
}

// Listen binds the HTTP address (Config.Listen; port 0 picks one).
func (s *Server) Listen() error {
	ln, err := net.Listen("tcp", s.Config.Listen)
	if err != nil {
		return err
	}
	s.ln = ln
	// The http.Server is made here, not in Serve: Serve runs in its own
	// goroutine, and Close (say a Ctrl-C right after start-up) must see
	// it without a data race. Shutdown before Serve makes Serve return
	// ErrServerClosed at once.
	//
	// ReadTimeout and WriteTimeout stay 0: they cap a whole request, which
	// would cut a slow-but-honest 5 GiB transfer and every long poll.
	// httpx.Deadlines sets per-read and per-write deadlines instead, which
	// extend while bytes flow at the minimum rate.
	anon := httpx.NewAnonymous(s.Config.MaxAnonymousConns)
	h := httpx.Deadlines(httpx.Transfer{Stall: time.Duration(s.Config.BodyTimeout), MinRate: s.Config.MinTransferRate}, s.Handler)
	s.http = &http.Server{Handler: h, MaxHeaderBytes: 64 << 10,
		ReadHeaderTimeout: time.Duration(s.Config.HeaderTimeout), IdleTimeout: time.Duration(s.Config.IdleTimeout),
		ConnContext: anon.ConnContext, ConnState: anon.ConnState,
		ErrorLog: slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn)}
	return nil
}

// URL is the base URL of the HTTP listener.
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() }

// Serve serves HTTP on the listener until Close; it returns nil after a
// clean shutdown.
func (s *Server) Serve() error {
	if s.http == nil {
		return errors.New("server: Serve before Listen")
	}
	err := s.http.Serve(s.ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Close shuts down in order: HTTP drained, projections caught up with the
// log, background loops stopped, buntdb closed, NATS stopped.
func (s *Server) Close(ctx context.Context) error {
	var err error
	s.closeOne.Do(func() { err = s.shutdown(ctx) })
	return err
}

// finalCheckpoint signs the log's newest event once every writer has
// stopped. The projection runner stopped with them, and an append waits
// until its event is applied, so a runner folds for the checkpoint's time.
func (s *Server) finalCheckpoint(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	runCtx, stop := context.WithCancel(cctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = s.State.Run(runCtx, s.Log) }()
	_, err := s.Core.Checkpoint(cctx, s.SigningKey)
	stop()
	<-done
	if err != nil {
		return fmt.Errorf("server: checkpoint at shutdown: %w", err)
	}
	return nil
}

func (s *Server) shutdown(ctx context.Context) error {
	var errs []error
	if s.stopFeeds != nil {
		s.stopFeeds()
	}
	if s.http != nil {
		errs = append(errs, s.http.Shutdown(ctx))
	}
	if s.ln != nil { // already closed by Shutdown unless Serve never ran
		if err := s.ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	if s.replicas != nil { // before the wait: a follower appends to the log
		errs = append(errs, s.replicas.Close())
	}
	if s.Log != nil && s.State != nil && s.cancel != nil && !s.Config.ReadOnly {
		if last, err := s.Log.LastSeq(ctx); err == nil {
			wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			errs = append(errs, s.State.Wait(wctx, last))
			cancel()
		}
	}
	if s.cancel != nil {
		s.cancel()
	}
	s.wg.Wait()
	// every writer has stopped (HTTP, replicas, background jobs): sign the
	// log's newest event, so a server that restarts more often than
	// checkpoint_interval still leaves its chain signed
	if s.Config.CheckpointOnStop && s.Core != nil && s.Log != nil && s.State != nil && s.SigningKey != nil && s.cancel != nil && !s.Config.ReadOnly {
		errs = append(errs, s.finalCheckpoint(ctx))
	}
	if s.Caches != nil { // after HTTP: no request is reading a copy
		errs = append(errs, s.Caches.Close())
	}
	if s.State != nil {
		errs = append(errs, s.State.Close())
	}
	if s.Log != nil {
		errs = append(errs, s.Log.Close())
	}
	if s.lock != nil {
		errs = append(errs, s.lock.Close())
	}
	return errors.Join(errs...)
}

package e2e

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairnhq/cairn/events/datadir"
	"github.com/cairnhq/cairn/projections"
)

// TestDurability_KillAndRestart crashes a real server process (SIGKILL)
// twice while uploads are in flight and checks, after each restart, that
//
//   - every acknowledged (201) upload and delete survived: same bytes,
//     same version;
//   - an upload that was never acknowledged is either absent or complete
//     and correct, never partial; one whose body never fully reached the
//     server cannot have landed at all;
//   - filelist of the whole service is exactly the set of live files, and
//     the service's file and byte counters agree with it.
//
// Then it stops the server with SIGINT (ordered shutdown, exit 0) and
// compares the projections the live server left behind with an offline
// rebuild of the same log (see durLiveDigest for why the comparison is
// sound), and serves the rebuilt projections once more.
func TestDurability_KillAndRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills server processes")
	}
	t.Parallel()
	dir := t.TempDir()
	const sid = "durability"

	c := startChild(t, dir)
	c.env().Admin(t, "servicecreate", map[string]any{"id": sid}, http.StatusCreated)
	m := &durModel{paths: map[string]*durPath{}}
	for round := 1; round <= 2; round++ {
		durCrashRound(t, c, m, sid, round)
		c = startChild(t, dir)
		m.verify(t, c.env(), sid, fmt.Sprintf("after crash %d", round))
		if t.Failed() {
			t.FailNow()
		}
	}
	c.stop(t)

	live, liveApplied := durLiveDigest(t, dir)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	st, err := datadir.Rebuild(ctx, dir, nil)
	if err != nil {
		t.Fatalf("datadir.Rebuild: %v", err)
	}
	if st.Events != liveApplied {
		t.Errorf("rebuild folded %d events, the live projections had applied %d", st.Events, liveApplied)
	}
	if st.Digest != live {
		t.Errorf("projections after two crashes and restarts differ from a full rebuild:\n live    %s\n rebuild %s", live, st.Digest)
	}

	c = startChild(t, dir)
	m.verify(t, c.env(), sid, "on the rebuilt projections")
	c.stop(t)
}

// durLiveDigest is the Digest (SHA-256 of every key and value, the
// checkpoint included) of the projections the live server left in dir.
// The comparison with datadir.Rebuild's digest is sound because the child
// was stopped with SIGINT: Close waits until the projections have applied
// the whole log, then closes buntdb (which syncs it) before NATS, so the
// file holds exactly the state the live server served, folded
// incrementally across both crashes (replays from the checkpoint), with the
// checkpoint equal to the log's last sequence. Rebuild folds the same log
// from nothing into a fresh file. Opening the file here changes nothing in
// it: buntdb only appends on writes and we make none.
func durLiveDigest(t *testing.T, dir string) (string, uint64) {
	t.Helper()
	st, err := projections.Open(filepath.Join(dir, "projections.db"), projections.Options{NoSync: true})
	if err != nil {
		t.Fatalf("open the live projections: %v", err)
	}
	defer st.Close()
	d, err := st.Digest()
	if err != nil {
		t.Fatalf("digest of the live projections: %v", err)
	}
	return d, st.Applied()
}

// durState is what one path holds: absent, or bytes known by hash, size
// and MD5 (the ETag). version is "" when not known (an upload that was
// never acknowledged).
type durState struct {
	present bool
	sha     string
	md5     string
	size    int64
	version string
}

func (s durState) String() string {
	if !s.present {
		return "absent"
	}
	v := s.version
	if v == "" {
		v = "unacknowledged"
	}
	return fmt.Sprintf("%d bytes sha256 %.12s version %s", s.size, s.sha, v)
}

// matches reports whether an observed state is s.
func (s durState) matches(obs durState) bool {
	if s.present != obs.present {
		return false
	}
	if !s.present {
		return true
	}
	return s.sha == obs.sha && s.size == obs.size && s.md5 == obs.md5 && (s.version == "" || s.version == obs.version)
}

// durPath is one path: its acknowledged state and the outcomes of requests
// that were in flight at the crash (each may or may not have happened).
type durPath struct {
	state durState
	maybe []durState
}

// durModel is what the service must hold. Each path is written by one
// worker only, so the order of a path's requests is known.
type durModel struct {
	mu    sync.Mutex
	paths map[string]*durPath
}

func (m *durModel) path(p string) *durPath {
	m.mu.Lock()
	defer m.mu.Unlock()
	dp := m.paths[p]
	if dp == nil {
		dp = &durPath{}
		m.paths[p] = dp
	}
	return dp
}

func (m *durModel) acked(p string, s durState) {
	dp := m.path(p)
	m.mu.Lock()
	defer m.mu.Unlock()
	dp.state = s
}

func (m *durModel) inFlight(p string, s durState) {
	dp := m.path(p)
	m.mu.Lock()
	defer m.mu.Unlock()
	dp.maybe = append(dp.maybe, s)
}

// present lists the paths whose acknowledged state is present, sorted.
func (m *durModel) present(prefix string) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for p, dp := range m.paths {
		if dp.state.present && strings.HasPrefix(p, prefix) {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

var durSizes = []int{0, 1 << 10, 4 << 10, 70 << 10, 1 << 20}

// durBody makes random contents and their state.
func durBody(t *testing.T, size int) ([]byte, durState) {
	b := make([]byte, size)
	if _, err := rand.Read(b); err != nil {
		t.Errorf("rand: %v", err)
	}
	sum, m := sha256.Sum256(b), md5.Sum(b)
	return b, durState{present: true, sha: hex.EncodeToString(sum[:]), md5: hex.EncodeToString(m[:]), size: int64(size)}
}

const (
	durWorkers = 6
	durAcks    = 30 // acknowledged requests per round before the kill
)

// durCrashRound runs uploads (and, after the first round, overwrites and
// deletes) from several workers, plus two uploads stalled halfway through
// their body, and kills the server once enough requests were acknowledged.
func durCrashRound(t *testing.T, c *childServer, m *durModel, sid string, round int) {
	e := c.env()
	client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: durWorkers + 2}}
	defer client.CloseIdleConnections()
	var (
		acks     atomic.Int64
		stopping atomic.Bool // set just before the kill: start nothing new
		failed   atomic.Int64
	)

	// Stalled uploads: an existing file overwritten with 1 MiB (blobstore
	// path) and a new 4 KiB file (inline path), each sent only halfway when
	// the server dies. Neither may show up: the old file must be intact.
	base := fmt.Sprintf("stalled/r%d-base", round)
	baseBody, baseState := durBody(t, 2<<10)
	u := e.Upload(t, e.AdminKey, sid, base, baseBody, nil)
	baseState.version = u.Version
	m.acked(base, baseState)
	m.path(fmt.Sprintf("stalled/r%d-new", round)) // known to the model: must stay absent
	killed := make(chan struct{})
	var halfSent atomic.Int64
	var stalledDone sync.WaitGroup
	for _, s := range []struct {
		path string
		size int
	}{{base, 1 << 20}, {fmt.Sprintf("stalled/r%d-new", round), 4 << 10}} {
		stalledDone.Add(1)
		go func() {
			defer stalledDone.Done()
			body, _ := durBody(t, s.size)
			pr, pw := io.Pipe()
			req, err := http.NewRequest(http.MethodPut, e.URL+"/uploadfile?"+url.Values{"sid": {sid}, "path": {s.path}}.Encode(), pr)
			if err != nil {
				t.Errorf("stalled request: %v", err)
				return
			}
			req.ContentLength = int64(len(body))
			req.Header.Set("x-owncdn-key", e.AdminKey)
			resc := make(chan error, 1)
			go func() {
				resp, err := client.Do(req)
				if err == nil {
					resp.Body.Close()
					if resp.StatusCode == http.StatusCreated {
						err = errors.New("acknowledged")
					} else {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
					if resp.StatusCode < 300 {
						t.Errorf("stalled upload %s: a partial body got %d", s.path, resp.StatusCode)
					}
				}
				resc <- err
			}()
			_, werr := pw.Write(body[:len(body)/2]) // returns once the transport took it all
			halfSent.Add(1)
			if werr != nil {
				t.Errorf("stalled upload %s: the first half was not sent: %v", s.path, werr)
			}
			<-killed
			pw.CloseWithError(errors.New("server killed"))
			<-resc
		}()
	}

	var wg sync.WaitGroup
	for w := range durWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			prefix := fmt.Sprintf("w%d/", w)
			for i := 0; !stopping.Load(); i++ {
				// the op cycle: round 1 creates and overwrites; round 2 also deletes
				existing := m.present(prefix)
				op := "new"
				switch {
				case round == 1 && i%4 == 3 && len(existing) > 0:
					op = "overwrite"
				case round >= 2 && (i%5 == 2 || i%5 == 3) && len(existing) > 0:
					op = "overwrite"
				case round >= 2 && i%5 == 4 && len(existing) > 0:
					op = "delete"
				}
				p := fmt.Sprintf("%sr%d-%03d", prefix, round, i)
				if op != "new" {
					p = existing[(i*7+w)%len(existing)]
				}
				if op == "delete" {
					durDelete(t, client, e, sid, p, m, &acks, &stopping, &failed)
					continue
				}
				size := durSizes[(w+i)%len(durSizes)]
				durUpload(t, client, e, sid, p, size, m, &acks, &stopping, &failed)
			}
		}()
	}

	eventually(t, 120*time.Second, func() error {
		if acks.Load() < durAcks || halfSent.Load() != 2 {
			return fmt.Errorf("waiting for acknowledged uploads and stalled bodies: %d of %d acknowledged, %d of 2 bodies stalled", acks.Load(), durAcks, halfSent.Load())
		}
		return nil
	})
	stopping.Store(true)
	c.kill(t)
	close(killed)
	wg.Wait()
	stalledDone.Wait()
	t.Logf("round %d: %d acknowledged, %d in flight at the kill (plus 2 stalled)", round, acks.Load(), failed.Load())
}

// durUpload sends one upload and records its outcome in the model.
func durUpload(t *testing.T, client *http.Client, e *Env, sid, p string, size int, m *durModel, acks *atomic.Int64, stopping *atomic.Bool, failed *atomic.Int64) {
	body, want := durBody(t, size)
	on := &Env{URL: e.URL, Client: client} // the round's own client, whose connections the kill cuts
	resp, err := on.Send(Req{Method: http.MethodPut, Fn: "uploadfile", Key: e.AdminKey, Query: Q("sid", sid, "path", p), Body: bytes.NewReader(body)})
	if err == nil && resp.Status == http.StatusCreated {
		var u UploadResult
		if err := json.Unmarshal(resp.Body, &u); err != nil || u.Version == "" {
			t.Errorf("upload %s: bad answer %q: %v", p, resp.Body, err)
		}
		if u.Size != want.size || u.ETag != want.md5 {
			t.Errorf("upload %s: answer says %d bytes etag %s, sent %d bytes md5 %s", p, u.Size, u.ETag, want.size, want.md5)
		}
		want.version = u.Version
		m.acked(p, want)
		acks.Add(1)
		return
	}
	if err == nil && !stopping.Load() {
		t.Errorf("upload %s (%d bytes): status %d before the crash: %s", p, size, resp.Status, resp.Body)
	}
	m.inFlight(p, want)
	failed.Add(1)
}

// durDelete deletes one file and records the outcome.
func durDelete(t *testing.T, client *http.Client, e *Env, sid, p string, m *durModel, acks *atomic.Int64, stopping *atomic.Bool, failed *atomic.Int64) {
	on := &Env{URL: e.URL, Client: client}
	resp, err := on.Send(Req{Method: http.MethodDelete, Fn: "deletefile", Key: e.AdminKey, Query: Q("sid", sid, "path", p)})
	if err == nil && resp.Status == http.StatusOK {
		m.acked(p, durState{})
		acks.Add(1)
		return
	}
	if err == nil && !stopping.Load() {
		t.Errorf("delete %s: status %d before the crash: %s", p, resp.Status, resp.Body)
	}
	m.inFlight(p, durState{})
	failed.Add(1)
}

// verify reads every path the model knows and the whole listing, checks
// them against the model and settles the in-flight outcomes to what the
// server now holds.
func (m *durModel) verify(t *testing.T, e *Env, sid, when string) {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	paths := make([]string, 0, len(m.paths))
	for p := range m.paths {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	landed, lost := 0, 0
	for _, p := range paths {
		dp := m.paths[p]
		r := e.Do(t, Req{Fn: "getfile", Key: e.AdminKey, Query: Q("sid", sid, "path", p)})
		var obs durState
		switch r.Status {
		case http.StatusOK:
			sum, md := sha256.Sum256(r.Body), md5.Sum(r.Body)
			obs = durState{present: true, sha: hex.EncodeToString(sum[:]), md5: hex.EncodeToString(md[:]),
				size: int64(len(r.Body)), version: r.Header.Get("X-Version-Id")}
			if et := strings.Trim(r.Header.Get("ETag"), `"`); et != obs.md5 {
				t.Errorf("%s: %s: ETag %q but the bytes' MD5 is %s", when, p, et, obs.md5)
			}
			if cl := r.Header.Get("Content-Length"); cl != strconv.Itoa(len(r.Body)) {
				t.Errorf("%s: %s: Content-Length %q for %d bytes", when, p, cl, len(r.Body))
			}
		case http.StatusNotFound:
		default:
			t.Errorf("%s: getfile %s: status %d: %s", when, p, r.Status, r.Body)
			continue
		}
		ok := dp.state.matches(obs)
		for _, s := range dp.maybe {
			if !ok && s.matches(obs) {
				ok = true
				landed++
			}
		}
		if !ok {
			want := []string{dp.state.String() + " (acknowledged)"}
			for _, s := range dp.maybe {
				want = append(want, s.String()+" (in flight)")
			}
			t.Errorf("%s: %s holds %s, want one of: %s", when, p, obs, strings.Join(want, "; "))
			if dp.state.present || len(dp.maybe) == 0 {
				lost++
			}
			continue
		}
		dp.state, dp.maybe = obs, nil
	}
	if lost > 0 {
		t.Errorf("%s: %d acknowledged changes were lost or altered", when, lost)
	}

	// filelist of the whole service, page by page.
	listed := map[string]fileJSONDur{}
	after := ""
	for page := 0; ; page++ {
		q := Q("sid", sid, "limit", "37")
		if after != "" {
			q.Set("after", after)
		}
		r := e.Do(t, Req{Fn: "filelist", Key: e.AdminKey, Query: q})
		if r.Status != http.StatusOK {
			t.Fatalf("%s: filelist: %d %s", when, r.Status, r.Body)
		}
		var l struct {
			Files []fileJSONDur `json:"files"`
			Next  *string       `json:"next"`
		}
		r.JSON(t, &l)
		for _, f := range l.Files {
			if _, dup := listed[f.Path]; dup {
				t.Errorf("%s: filelist lists %s twice", when, f.Path)
			}
			listed[f.Path] = f
		}
		if l.Next == nil {
			break
		}
		if *l.Next == after || page > 1000 {
			t.Fatalf("%s: filelist does not advance past %q", when, after)
		}
		after = *l.Next
	}
	var files, bytes int64
	for _, p := range paths {
		s := m.paths[p].state
		f, ok := listed[p]
		delete(listed, p)
		switch {
		case !s.present && ok:
			t.Errorf("%s: filelist lists %s, which getfile says is absent", when, p)
		case s.present && !ok:
			t.Errorf("%s: filelist misses %s (%s)", when, p, s)
		case s.present && (f.Size != s.size || f.ETag != s.md5 || f.Version != s.version):
			t.Errorf("%s: filelist has %s as %d bytes etag %s version %s, want %s etag %s", when, p, f.Size, f.ETag, f.Version, s, s.md5)
		}
		if s.present {
			files++
			bytes += s.size
		}
	}
	for p := range listed {
		t.Errorf("%s: filelist lists %s, which was never uploaded", when, p)
	}

	// the service's usage counters agree with the listing.
	var sl struct {
		Services []struct {
			ID    string `json:"id"`
			Files int64  `json:"files"`
			Bytes int64  `json:"bytes"`
		} `json:"services"`
	}
	e.Do(t, Req{Fn: "servicelist", Key: e.AdminKey}).JSON(t, &sl)
	found := false
	for _, s := range sl.Services {
		if s.ID == sid {
			found = true
			if s.Files != files || s.Bytes != bytes {
				t.Errorf("%s: servicelist counts %d files, %d bytes; the live files add up to %d files, %d bytes", when, s.Files, s.Bytes, files, bytes)
			}
		}
	}
	if !found {
		t.Errorf("%s: servicelist does not show %s", when, sid)
	}
	t.Logf("%s: %d paths, %d live files (%d bytes); %d in-flight changes had landed", when, len(paths), files, bytes, landed)
}

type fileJSONDur struct {
	Path    string `json:"path"`
	Size    int64  `json:"size"`
	ETag    string `json:"etag"`
	Version string `json:"version"`
}

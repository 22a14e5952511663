package e2e

// A 200 MiB static large object streamed back by a server running as a
// child process, whose memory (VmRSS, VmHWM in /proc/<pid>/status) is
// watched while it streams (/tmp/swift/CONTRACT5.md, "Large objects").
// Neither side holds the object: the segments are uploaded from a seeded
// PRNG stream and the answer is read through SHA-256.

import (
	"bufio"
	"crypto/md5"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	slMemSegSize   = 10 << 20 // bytes in one segment
	slMemSegs      = 20       // segments: 200 MiB in all
	slMemMaxGrowth = 64 << 20 // the most the server's RSS may grow while streaming
)

// slMemSeg is segment i's content: a ChaCha8 stream seeded with i, cut
// at slMemSegSize. The same i always gives the same bytes.
func slMemSeg(i int) io.Reader {
	var seed [32]byte
	copy(seed[:], "cairn swift large object memory")
	binary.LittleEndian.PutUint64(seed[24:], uint64(i))
	return io.LimitReader(rand.NewChaCha8(seed), slMemSegSize)
}

// slProcStatus reads the kB figures of /proc/<pid>/status named in keys
// (like "VmRSS") and returns them in bytes.
func slProcStatus(pid int, keys ...string) (map[string]int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]int64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		for _, k := range keys {
			if name != k {
				continue
			}
			fields := strings.Fields(rest)
			if len(fields) != 2 || fields[1] != "kB" {
				return nil, fmt.Errorf("/proc/%d/status: %s: %q", pid, name, rest)
			}
			n, err := strconv.ParseInt(fields[0], 10, 64)
			if err != nil {
				return nil, fmt.Errorf("/proc/%d/status: %s: %v", pid, name, err)
			}
			out[name] = n << 10
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	for _, k := range keys {
		if _, ok := out[k]; !ok {
			return nil, fmt.Errorf("/proc/%d/status has no %s", pid, k)
		}
	}
	return out, nil
}

// slMemSampler samples a process's VmRSS every period until stopped.
type slMemSampler struct {
	pid     int
	stop    chan struct{}
	done    chan struct{}
	mu      sync.Mutex
	peak    int64
	samples int
	err     error
}

func slStartSampler(pid int, period time.Duration) *slMemSampler {
	s := &slMemSampler{pid: pid, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		tick := time.NewTicker(period)
		defer tick.Stop()
		for {
			s.sample()
			select {
			case <-s.stop:
				s.sample()
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

func (s *slMemSampler) sample() {
	st, err := slProcStatus(s.pid, "VmRSS")
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		if s.err == nil {
			s.err = err
		}
		return
	}
	s.samples++
	s.peak = max(s.peak, st["VmRSS"])
}

// finish stops the sampler and returns the peak VmRSS and the number of
// samples.
func (s *slMemSampler) finish() (int64, int, error) {
	close(s.stop)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peak, s.samples, s.err
}

func slMiB(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// TestSwiftLarge_StreamingMemory uploads 20 segments of 10 MiB to a child
// server, makes them a 200 MiB SLO, and GETs it whole while sampling the
// child's VmRSS every 20 ms: the content must hash as generated and the
// RSS must not grow by more than 64 MiB while it streams. A range across
// three segment boundaries in the middle is checked the same way.
func TestSwiftLarge_StreamingMemory(t *testing.T) {
	realClock(t) // samples the child's memory every 20 ms while it streams
	if testing.Short() {
		t.Skip("uploads and streams 200 MiB through a child server")
	}
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc/<pid>/status")
	}
	ch := startChild(t, t.TempDir())
	e := ch.env()
	pid := ch.hello.PID
	if pid != ch.cmd.Process.Pid {
		t.Fatalf("child hello pid %d, process %d", pid, ch.cmd.Process.Pid)
	}
	acct, k := e.Account(t)
	c := e.Swift(t, k.ID, k.Value, 1)
	tok := c.AuthToken
	cont := swContainer(t, c)
	segc := swContainer(t, c)
	total := int64(slMemSegs * slMemSegSize)
	client := &http.Client{Timeout: 10 * time.Minute, Transport: &http.Transport{DisableCompression: true}}
	defer client.CloseIdleConnections()

	// the expected SHA-256 of the whole, from the generator
	wantSHA := make(chan string, 1)
	go func() {
		h := sha256.New()
		for i := range slMemSegs {
			_, _ = io.Copy(h, slMemSeg(i))
		}
		wantSHA <- hex.EncodeToString(h.Sum(nil))
	}()

	// upload the segments, two at a time, each streamed from the generator
	// with its MD5 sent as Etag (the server checks it) and compared with
	// the answer's
	etags := make([]string, slMemSegs)
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, slMemSegs)
	sem := make(chan struct{}, 2)
	for i := range slMemSegs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			h := md5.New()
			_, _ = io.Copy(h, slMemSeg(i))
			sum := hex.EncodeToString(h.Sum(nil))
			req, err := http.NewRequest(http.MethodPut, e.URL+swPath(acct, segc, fmt.Sprintf("seg/%02d", i)), slMemSeg(i))
			if err != nil {
				errs <- err
				return
			}
			req.ContentLength = slMemSegSize
			req.Header.Set("X-Auth-Token", tok)
			req.Header.Set("Etag", sum)
			resp, err := client.Do(req)
			if err != nil {
				errs <- fmt.Errorf("PUT segment %d: %v", i, err)
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusCreated || resp.Header.Get("Etag") != sum {
				errs <- fmt.Errorf("PUT segment %d: %d, Etag %q, want 201 %s: %.200s", i, resp.StatusCode, resp.Header.Get("Etag"), sum, b)
				return
			}
			etags[i] = sum
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	up := time.Since(start)
	t.Logf("uploaded %d segments of %s in %v (%.1f MiB/s)", slMemSegs, slMiB(slMemSegSize), up.Round(time.Millisecond),
		float64(total)/(1<<20)/up.Seconds())

	var entries []map[string]any
	for i, et := range etags {
		entries = append(entries, map[string]any{"path": fmt.Sprintf("/%s/seg/%02d", segc, i), "etag": et, "size_bytes": slMemSegSize})
	}
	r := slPutSLO(t, e, tok, acct, cont, "big.bin", entries, map[string]string{"Content-Type": "application/x-big"})
	swWant(t, "PUT the 200 MiB SLO manifest", r, http.StatusCreated)
	etag := slETag(etags...)
	if r.Header.Get("Etag") != etag {
		t.Errorf("PUT the SLO manifest: Etag %s, want %s", r.Header.Get("Etag"), etag)
	}
	if en := slListed(t, e, tok, acct, cont, "big.bin"); en.Bytes != total {
		t.Errorf("listing: the SLO has bytes %d, want %d", en.Bytes, total)
	}
	want := <-wantSHA

	// stream it whole through SHA-256 while sampling the child's RSS
	before, err := slProcStatus(pid, "VmRSS", "VmHWM")
	if err != nil {
		t.Fatal(err)
	}
	sampler := slStartSampler(pid, 20*time.Millisecond)
	start = time.Now()
	req, err := http.NewRequest(http.MethodGet, e.URL+swPath(acct, cont, "big.bin"), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Auth-Token", tok)
	resp, err := client.Do(req)
	if err != nil {
		sampler.finish()
		t.Fatalf("GET the SLO: %v", err)
	}
	firstByte := time.Since(start)
	h := sha256.New()
	n, copyErr := io.Copy(h, resp.Body)
	resp.Body.Close()
	took := time.Since(start)
	peak, samples, serr := sampler.finish()
	after, err := slProcStatus(pid, "VmRSS", "VmHWM")
	if err != nil {
		t.Fatal(err)
	}
	if serr != nil {
		t.Fatalf("sampling the child's memory: %v", serr)
	}
	base := before["VmRSS"]
	// VmHWM is the peak RSS of the process's whole life: when it rose
	// during the GET, its new value is the peak of the GET, spikes between
	// two samples included
	if after["VmHWM"] > before["VmHWM"] {
		peak = max(peak, after["VmHWM"])
	}
	growth := peak - base
	t.Logf("child pid %d streaming %s: first byte after %v, %v (%.1f MiB/s); VmRSS baseline %s, peak %s over %d samples (growth %s), after %s; VmHWM before %s, after %s",
		pid, slMiB(n), firstByte.Round(time.Millisecond), took.Round(time.Millisecond), float64(n)/(1<<20)/took.Seconds(),
		slMiB(base), slMiB(peak), samples, slMiB(growth), slMiB(after["VmRSS"]), slMiB(before["VmHWM"]), slMiB(after["VmHWM"]))

	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET the SLO: status %d", resp.StatusCode)
	}
	if copyErr != nil || n != total {
		t.Errorf("GET the SLO: read %d bytes (%v), want %d", n, copyErr, total)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		t.Errorf("GET the SLO: sha256 %s, want %s", got, want)
	}
	if resp.ContentLength != total || resp.Header.Get("X-Static-Large-Object") != "True" || resp.Header.Get("Etag") != etag {
		t.Errorf("GET the SLO: Content-Length %d, X-Static-Large-Object %q, Etag %s; want %d, True, %s",
			resp.ContentLength, resp.Header.Get("X-Static-Large-Object"), resp.Header.Get("Etag"), total, etag)
	}
	if samples < 2 {
		t.Errorf("only %d RSS samples while streaming", samples)
	}
	if growth > slMemMaxGrowth {
		t.Errorf("the server's RSS grew by %s while streaming 200 MiB (baseline %s, peak %s), more than %s",
			slMiB(growth), slMiB(base), slMiB(peak), slMiB(slMemMaxGrowth))
	}

	// a range in the middle, across three segment boundaries: from 5000
	// bytes before the end of segment 8 to 5000 bytes into segment 11
	lo := int64(9*slMemSegSize - 5000)
	hi := int64(11*slMemSegSize + 4999)
	exp := io.MultiReader(slMemSeg(8), slMemSeg(9), slMemSeg(10), slMemSeg(11))
	if _, err := io.CopyN(io.Discard, exp, lo-8*slMemSegSize); err != nil {
		t.Fatal(err)
	}
	wantRange := sha256.New()
	if _, err := io.CopyN(wantRange, exp, hi-lo+1); err != nil {
		t.Fatal(err)
	}
	req, err = http.NewRequest(http.MethodGet, e.URL+swPath(acct, cont, "big.bin"), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Auth-Token", tok)
	req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", lo, hi))
	resp, err = client.Do(req)
	if err != nil {
		t.Fatalf("GET the SLO with a range: %v", err)
	}
	got := sha256.New()
	n, copyErr = io.Copy(got, resp.Body)
	resp.Body.Close()
	slWantSum(t, "GET the SLO "+req.Header.Get("Range"), resp, n, copyErr, got, wantRange, hi-lo+1)
	if cr := fmt.Sprintf("bytes %d-%d/%d", lo, hi, total); resp.Header.Get("Content-Range") != cr {
		t.Errorf("GET the SLO %s: Content-Range %q, want %q", req.Header.Get("Range"), resp.Header.Get("Content-Range"), cr)
	}
	if resp.StatusCode != http.StatusPartialContent {
		t.Errorf("GET the SLO %s: status %d, want 206", req.Header.Get("Range"), resp.StatusCode)
	}

	ch.stop(t) // ordered shutdown; a data race or panic in the child fails the test
}

// slWantSum compares a streamed answer's length and hash with the
// expected ones.
func slWantSum(t testing.TB, what string, resp *http.Response, n int64, err error, got, want hash.Hash, size int64) {
	t.Helper()
	if err != nil || n != size || resp.ContentLength != size {
		t.Errorf("%s: read %d bytes (%v), Content-Length %d, want %d", what, n, err, resp.ContentLength, size)
	}
	if g, w := hex.EncodeToString(got.Sum(nil)), hex.EncodeToString(want.Sum(nil)); g != w {
		t.Errorf("%s: sha256 %s, want %s", what, g, w)
	}
}

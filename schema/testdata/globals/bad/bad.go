package bad

import (
	"errors"
	"log/slog"
	"net/http"
	"sync"
)

var ErrFine = errors.New("a sentinel")
var _ = http.StatusOK
var hits int
var cache = map[string]int{}
var pool sync.Pool
var errLazy = func() error { return nil }()
var table = []string{"a"}

func f() { hits++ }
func g() { cache["x"] = 1 }
func h() { delete(cache, "x") }
func i() { table[0] = "b" }
func j() { http.DefaultClient = nil }
func k() { slog.SetDefault(nil) }

func shadowed() {
	hits := 3
	hits = 4
	var cache map[string]int
	cache = nil
	_, _ = hits, cache
	pool := sync.Pool{}
	pool.Put(1)
	_ = ErrFine
}

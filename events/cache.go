package events

import (
	"container/list"
	"sync"
)

// contentCache keeps the bytes of recently read inline objects, keyed by
// the sequence of the event that carries them. Events never change, so an
// entry is never stale; the cache is bounded by the bytes it holds and
// drops the least recently used entries first. It saves a read of the log
// and a JSON decode per GET of a hot small object.
type contentCache struct {
	mu    sync.Mutex
	max   int64
	size  int64
	order *list.List               // front: most recently used
	items map[uint64]*list.Element // seq -> element holding *cacheEntry
}

type cacheEntry struct {
	seq  uint64
	data []byte
}

func newContentCache(max int64) *contentCache {
	return &contentCache{max: max, order: list.New(), items: map[uint64]*list.Element{}}
}

// get returns the cached bytes of seq; callers must not modify them.
func (c *contentCache) get(seq uint64) ([]byte, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[seq]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*cacheEntry).data, true
}

// put stores the bytes of seq, evicting old entries past the bound.
func (c *contentCache) put(seq uint64, data []byte) {
	if c == nil || int64(len(data)) > c.max {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.items[seq]; ok {
		return
	}
	c.items[seq] = c.order.PushFront(&cacheEntry{seq: seq, data: data})
	c.size += int64(len(data))
	for c.size > c.max {
		el := c.order.Back()
		e := el.Value.(*cacheEntry)
		c.order.Remove(el)
		delete(c.items, e.seq)
		c.size -= int64(len(e.data))
	}
}

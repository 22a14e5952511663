package events

import (
	"bytes"
	"testing"
)

func TestContentCache_LRUBound(t *testing.T) {
	c := newContentCache(10)
	c.put(1, []byte("aaaa"))
	c.put(2, []byte("bbbb"))
	if _, ok := c.get(1); !ok { // 1 is now the most recently used
		t.Fatal("entry 1 missing")
	}
	c.put(3, []byte("cccc")) // 12 bytes > 10: the least recently used (2) goes
	if _, ok := c.get(2); ok {
		t.Error("entry 2 should have been evicted")
	}
	if d, ok := c.get(1); !ok || !bytes.Equal(d, []byte("aaaa")) {
		t.Error("entry 1 evicted or changed")
	}
	if d, ok := c.get(3); !ok || !bytes.Equal(d, []byte("cccc")) {
		t.Error("entry 3 missing")
	}
	if c.size != 8 {
		t.Errorf("size = %d, want 8", c.size)
	}
	c.put(4, make([]byte, 11)) // larger than the bound: not kept
	if _, ok := c.get(4); ok {
		t.Error("an entry larger than the bound was kept")
	}
	var nilCache *contentCache
	nilCache.put(1, []byte("x"))
	if _, ok := nilCache.get(1); ok {
		t.Error("a nil cache returned an entry")
	}
}

package sim

import (
	"container/list"
	"sync"
)

type dayKey struct{ user, dn int }

type cacheEntry struct {
	key dayKey
	day *Day
}

// dayCache is a small LRU of generated days. The server asks for the same
// days over and over (paging, single-document lookups, heart-rate windows),
// and a day is cheap to regenerate, so a modest bound is enough.
type dayCache struct {
	mu    sync.Mutex
	max   int
	order *list.List // front: most recently used
	items map[dayKey]*list.Element
}

func newDayCache(max int) *dayCache {
	return &dayCache{max: max, order: list.New(), items: make(map[dayKey]*list.Element, max)}
}

func (c *dayCache) get(k dayKey) (*Day, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[k]; ok {
		c.order.MoveToFront(e)
		return e.Value.(*cacheEntry).day, true
	}
	return nil, false
}

func (c *dayCache) put(k dayKey, d *Day) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[k]; ok {
		c.order.MoveToFront(e)
		return
	}
	c.items[k] = c.order.PushFront(&cacheEntry{k, d})
	for c.order.Len() > c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.items, last.Value.(*cacheEntry).key)
	}
}

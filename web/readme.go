package web

import (
	"container/list"
	"context"
	"html/template"
	"sync"
	"time"
)

// README rendering is kept off the request path: a page view costs
// milliseconds whatever a crate published. Renders run on a small pool of
// workers, each README at most once at a time (views of the same README
// share it), under renderBudget, and their outcome, the HTML or "not
// renderable", is remembered in a cache bounded in bytes. A page waits
// briefly for a render in progress and otherwise shows the README as plain
// text. The CPU that READMEs can take is thus at most readmeWorkers cores,
// and a hostile README costs at most renderBudget each time it falls out of
// the cache, however often it is viewed.
const (
	// readmeWorkers is one: ordinary READMEs render in milliseconds, and
	// rendering must never take the cores that serve cargo.
	readmeWorkers = 1
	// readmeQueue bounds the renders waiting for a worker; when it is
	// full, the page shows plain text and a later view asks again.
	readmeQueue = 64
	// readmeWait is how long a page waits for its README to render.
	readmeWait = 250 * time.Millisecond
	// readmeCacheBytes bounds the memory of remembered renders.
	readmeCacheBytes = 32 << 20
)

// readmeState says what a page can show of a README.
type readmeState int

const (
	readmeRendered readmeState = iota // the HTML is ready
	readmePending                     // not rendered yet: show plain text
	readmePlain                       // cannot be rendered: show plain text
	readmeTooLarge                    // past maxReadme: shown neither way
)

// readmeRenderer renders READMEs in the background.
type readmeRenderer struct {
	// render is renderReadme; tests replace it.
	render func(src string, deadline time.Time) (template.HTML, error)
	budget time.Duration
	wait   time.Duration

	start    sync.Once
	jobs     chan *readmeJob
	mu       sync.Mutex
	inflight map[int64]*readmeJob
	cache    *byteLRU
}

// readmeJob is one render, shared by every view that asks for it.
type readmeJob struct {
	id   int64
	src  string
	done chan struct{} // closed when out is set
	out  readmeOutcome
}

// readmeOutcome is a remembered render. ok false is a README that cannot be
// rendered within the budget.
type readmeOutcome struct {
	html template.HTML
	ok   bool
}

// outcomeOverhead is what a remembered outcome costs beyond its HTML (map
// and list entries), so that failures count too.
const outcomeOverhead = 128

func newReadmeRenderer() *readmeRenderer {
	return &readmeRenderer{
		render:   renderReadme,
		budget:   renderBudget,
		wait:     readmeWait,
		jobs:     make(chan *readmeJob, readmeQueue),
		inflight: make(map[int64]*readmeJob),
		cache:    newByteLRU(readmeCacheBytes),
	}
}

// get returns the README of version id, whose Markdown is src, as the page
// can show it now. It waits at most r.wait, or until ctx ends, for a render.
func (r *readmeRenderer) get(ctx context.Context, id int64, src string) (template.HTML, readmeState) {
	if len(src) > maxReadme {
		return "", readmeTooLarge
	}
	if out, ok := r.cache.get(id); ok {
		return out.state()
	}
	job := r.submit(id, src)
	if job == nil {
		return "", readmePending
	}
	t := time.NewTimer(r.wait)
	defer t.Stop()
	select {
	case <-job.done:
		return job.out.state()
	case <-t.C:
	case <-ctx.Done():
	}
	return "", readmePending
}

func (o readmeOutcome) state() (template.HTML, readmeState) {
	if !o.ok {
		return "", readmePlain
	}
	return o.html, readmeRendered
}

// submit returns the render of id in progress, or queues a new one; nil
// when the queue is full.
func (r *readmeRenderer) submit(id int64, src string) *readmeJob {
	r.start.Do(func() {
		for range readmeWorkers {
			go r.work()
		}
	})
	r.mu.Lock()
	defer r.mu.Unlock()
	if job := r.inflight[id]; job != nil {
		return job
	}
	// The outcome may have landed between the cache lookup and the lock.
	if out, ok := r.cache.get(id); ok {
		job := &readmeJob{id: id, done: make(chan struct{}), out: out}
		close(job.done)
		return job
	}
	job := &readmeJob{id: id, src: src, done: make(chan struct{})}
	select {
	case r.jobs <- job:
		r.inflight[id] = job
		return job
	default:
		return nil
	}
}

// work renders queued READMEs until the process ends. Workers are never
// stopped: idle, they only wait on the queue.
func (r *readmeRenderer) work() {
	for job := range r.jobs {
		html, err := r.render(job.src, time.Now().Add(r.budget))
		job.out = readmeOutcome{html: html, ok: err == nil}
		r.cache.put(job.id, job.out, int64(len(html))+outcomeOverhead)
		r.mu.Lock()
		delete(r.inflight, job.id)
		r.mu.Unlock()
		close(job.done)
	}
}

// byteLRU is a least-recently-used cache of outcomes by version id, bounded
// by the sum of the sizes given to put. A version's README never changes, so
// entries never go stale; the bound only limits memory.
type byteLRU struct {
	mu    sync.Mutex
	max   int64
	used  int64
	order *list.List // of *lruEntry, most recent first
	items map[int64]*list.Element
}

type lruEntry struct {
	id   int64
	out  readmeOutcome
	size int64
}

func newByteLRU(max int64) *byteLRU {
	return &byteLRU{max: max, order: list.New(), items: make(map[int64]*list.Element)}
}

func (c *byteLRU) get(id int64) (readmeOutcome, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.items[id]
	if !ok {
		return readmeOutcome{}, false
	}
	c.order.MoveToFront(e)
	return e.Value.(*lruEntry).out, true
}

// put remembers out under id, evicting the least recently used entries
// until the cache fits. An entry larger than the whole cache is not kept.
func (c *byteLRU) put(id int64, out readmeOutcome, size int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[id]; ok {
		c.used -= e.Value.(*lruEntry).size
		c.order.Remove(e)
		delete(c.items, id)
	}
	if size > c.max {
		return
	}
	for c.used+size > c.max {
		last := c.order.Back()
		old := last.Value.(*lruEntry)
		c.order.Remove(last)
		delete(c.items, old.id)
		c.used -= old.size
	}
	c.items[id] = c.order.PushFront(&lruEntry{id: id, out: out, size: size})
	c.used += size
}

// bytes is the sum of the sizes of the entries kept.
func (c *byteLRU) bytes() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.used
}

package web

import (
	"bytes"
	"html/template"
	"regexp"
	"sync"

	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/renderer/html"
)

// maxReadme is the largest README the pages render. Bigger ones (a crate may
// ship anything) are not rendered, so that one page view cannot cost seconds
// of CPU.
const maxReadme = 1 << 20

// readmeCacheSize is how many rendered READMEs are kept. A version's README
// never changes, so entries never go stale; the bound only limits memory.
const readmeCacheSize = 256

// markdown converts README Markdown to HTML. Raw HTML is let through here
// because READMEs commonly use it (centered logos, badges, <details>);
// the sanitizer below is what makes the result safe.
var markdown = goldmark.New(
	goldmark.WithExtensions(
		// GFM, spelled out to render table alignment as attributes: the
		// Content-Security-Policy forbids inline styles.
		extension.NewTable(extension.WithTableCellAlignMethod(extension.TableCellAlignAttribute)),
		extension.Strikethrough,
		extension.Linkify,
		extension.TaskList,
	),
	goldmark.WithParserOptions(parser.WithAutoHeadingID()),
	goldmark.WithRendererOptions(html.WithUnsafe()),
)

// sanitizer is bluemonday's policy for user-generated content (no scripts,
// no event handlers, no javascript: URLs, no styles, rel="nofollow" on
// links), plus the disabled checkboxes of GFM task lists.
var sanitizer = func() *bluemonday.Policy {
	p := bluemonday.UGCPolicy()
	p.AllowAttrs("type").Matching(regexp.MustCompile(`^checkbox$`)).OnElements("input")
	p.AllowAttrs("checked", "disabled").Matching(regexp.MustCompile(`^(|checked|disabled)$`)).OnElements("input")
	return p
}()

// renderReadme turns README Markdown into sanitized HTML. ok is false when
// the README is too large to render.
func renderReadme(src string) (_ template.HTML, ok bool) {
	if len(src) > maxReadme {
		return "", false
	}
	var buf bytes.Buffer
	if err := markdown.Convert([]byte(src), &buf); err != nil {
		// goldmark fails only when writing to the buffer fails, which it
		// cannot; show nothing rather than half a document.
		return "", false
	}
	// The sanitizer's output is safe to embed as is: that is its purpose.
	return template.HTML(sanitizer.SanitizeBytes(buf.Bytes())), true
}

// readmeCache keeps rendered READMEs by version id.
type readmeCache struct {
	mu      sync.Mutex
	max     int
	entries map[int64]renderedReadme
}

type renderedReadme struct {
	html template.HTML
	ok   bool
}

func newReadmeCache(max int) *readmeCache {
	return &readmeCache{max: max, entries: make(map[int64]renderedReadme)}
}

// get returns the rendered README of version id, rendering src on a miss.
func (c *readmeCache) get(id int64, src string) (template.HTML, bool) {
	c.mu.Lock()
	e, hit := c.entries[id]
	c.mu.Unlock()
	if hit {
		return e.html, e.ok
	}
	// Rendered outside the lock: two requests may render the same README
	// at once, which is cheaper than making every page wait for one.
	e.html, e.ok = renderReadme(src)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		// Drop an arbitrary entry (map order): good enough for a cache
		// whose entries are all equally cheap to rebuild.
		for k := range c.entries {
			delete(c.entries, k)
			break
		}
	}
	c.entries[id] = e
	return e.html, e.ok
}

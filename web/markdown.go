package web

import (
	"bytes"
	"errors"
	"html/template"
	"regexp"
	"time"

	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/renderer/html"
	gmtext "github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// maxReadme is the largest README the pages render. Bigger ones (a crate may
// ship anything) are not rendered at all.
const maxReadme = 1 << 20

// renderBudget is the time one README may take to render. goldmark is
// superlinear on some inputs (runs of "*a_", "[a](" or "[a]\n": 96 KB cost
// 9.5 s, 192 KB 43 s); a render that reaches the budget is abandoned and
// the README is shown as plain text. Ordinary READMEs take milliseconds.
const renderBudget = 2 * time.Second

// markdown converts README Markdown to HTML. Raw HTML is let through here
// because READMEs commonly use it (centered logos, badges, <details>);
// the sanitizer below is what makes the result safe.
var markdown = goldmark.New(
	// The default parser with every inline parser under the render
	// budget: that is where goldmark's superlinear cases live.
	goldmark.WithParser(parser.NewParser(
		parser.WithBlockParsers(parser.DefaultBlockParsers()...),
		parser.WithInlineParsers(budgeted(parser.DefaultInlineParsers())...),
		parser.WithParagraphTransformers(parser.DefaultParagraphTransformers()...),
	)),
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

var (
	errTooLarge   = errors.New("README too large to render")
	errOverBudget = errors.New("README render over its time budget")
)

// renderReadme turns README Markdown into sanitized HTML, giving up with
// errOverBudget at deadline and with errTooLarge past maxReadme.
func renderReadme(src string, deadline time.Time) (_ template.HTML, err error) {
	if len(src) > maxReadme {
		return "", errTooLarge
	}
	b := &budget{deadline: deadline}
	pc := parser.NewContext()
	pc.Set(budgetKey, b)
	defer func() {
		// The budget stops goldmark by panicking out of it: its loops
		// have no other exit. Any other panic is not ours to swallow.
		if r := recover(); r != nil {
			if r != errOverBudget {
				panic(r)
			}
			err = errOverBudget
		}
	}()
	var buf bytes.Buffer
	if err := markdown.Convert([]byte(src), &buf, parser.WithContext(pc)); err != nil {
		// goldmark fails only when writing to the buffer fails, which it
		// cannot; show nothing rather than half a document.
		return "", err
	}
	// The sanitizer's output is safe to embed as is: that is its purpose.
	return template.HTML(sanitizer.SanitizeBytes(buf.Bytes())), nil
}

// budgetKey holds the *budget of one render in goldmark's parser context.
var budgetKey = parser.NewContextKey()

// budget is the deadline of one render.
type budget struct {
	deadline time.Time
	steps    int
}

// check panics with errOverBudget once the deadline has passed.
func (b *budget) check() {
	if !b.deadline.IsZero() && time.Now().After(b.deadline) {
		panic(errOverBudget)
	}
}

// budgetStride is how many delimiter comparisons go between two readings of
// the clock: one comparison costs nanoseconds, less than reading the clock.
const budgetStride = 1024

func (b *budget) step() {
	b.steps++
	if b.steps%budgetStride == 0 {
		b.check()
	}
}

func budgetOf(pc parser.Context) *budget {
	b, _ := pc.Get(budgetKey).(*budget)
	if b == nil {
		return &budget{} // a render without a budget (none in this package)
	}
	return b
}

// budgeted wraps inline parsers so that each call, and each step of the
// delimiter matching of the delimiters they create, counts against the
// render budget. These are the loops that go quadratic: the link parser
// scans to the end of the paragraph for every "[" and "](", and the
// emphasis matcher walks back over every opener for every closer.
func budgeted(ps []util.PrioritizedValue) []util.PrioritizedValue {
	out := make([]util.PrioritizedValue, len(ps))
	for i, p := range ps {
		ip := p.Value.(parser.InlineParser)
		var w parser.InlineParser = &budgetedInline{ip}
		if cb, ok := ip.(parser.CloseBlocker); ok {
			w = &budgetedCloser{budgetedInline{ip}, cb}
		}
		out[i] = util.Prioritized(w, p.Priority)
	}
	return out
}

type budgetedInline struct{ parser.InlineParser }

func (p *budgetedInline) Parse(parent ast.Node, block gmtext.Reader, pc parser.Context) ast.Node {
	// One call may scan the rest of the paragraph: read the clock every
	// time.
	b := budgetOf(pc)
	b.check()
	n := p.InlineParser.Parse(parent, block, pc)
	if d, ok := n.(*parser.Delimiter); ok && d.Processor != nil {
		d.Processor = &budgetedDelimiters{d.Processor, b}
	}
	return n
}

type budgetedCloser struct {
	budgetedInline
	cb parser.CloseBlocker
}

func (p *budgetedCloser) CloseBlock(parent ast.Node, block gmtext.Reader, pc parser.Context) {
	p.cb.CloseBlock(parent, block, pc)
}

// budgetedDelimiters counts every opener/closer comparison.
type budgetedDelimiters struct {
	parser.DelimiterProcessor
	b *budget
}

func (d *budgetedDelimiters) CanOpenCloser(opener, closer *parser.Delimiter) bool {
	d.b.step()
	return d.DelimiterProcessor.CanOpenCloser(opener, closer)
}

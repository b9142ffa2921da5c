package gitindex

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/plumbing/format/pktline"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/revlist"
)

// This file is the server side of upload-pack for stateless HTTP, written
// on go-git's plumbing (pkt-lines, revlist, the pack encoder). go-git's own
// server session advertises no multi_ack. Without it, over stateless HTTP,
// git stops negotiating at the first ACK and sends its final request with no
// "have" lines (so every fetch downloads the whole history), and libgit2,
// once it has offered 20 commits, sends a final request without its wants.
// go-git's session also fails a fetch when a client offers a commit the
// server does not know, which happens after the index is rebuilt.
//
// git's own program (git upload-pack --stateless-rpc) could serve the
// repository, which is an ordinary one on disk, but its pack-objects leaves
// out only the objects of commits on the edge of the wanted history: with
// this index's unrelated root commits, every fetch would send the whole
// index. revlist.Objects here leaves out everything the client's commits
// hold. Version 2 is in protov2.go.

const (
	maxWants  = 1024
	packDepth = 10 // delta window of the pack encoder
)

// uploadRequest is one POST of the negotiation, in protocol version 0 or
// as version 2's fetch command, which carry the same things: the wanted
// tips, the client's capabilities (version 2's argument flags), the
// commits it offers and whether it is done.
type uploadRequest struct {
	v2    bool
	wants []plumbing.Hash
	caps  map[string]bool
	haves []plumbing.Hash
	done  bool
	// deepen is set when the client asked for a depth or a date, and
	// shallows when it listed commits it has without their parents. The
	// answer then has a shallow section (version 0: with deepen only, as
	// git answers). It is always empty, since every commit of this index
	// is a root commit (see commit in git.go): whatever depth, date or
	// relative depth the client asks for, the wanted commit is the whole
	// of its history.
	deepen, shallows bool
}

// ackMode is how the client asked to be told about common commits.
type ackMode int

const (
	ackSingle   ackMode = iota // one ACK, for the first common commit
	ackMulti                   // multi_ack: "ACK id continue"
	ackDetailed                // multi_ack_detailed: "ACK id common"
)

func (r *uploadRequest) mode() ackMode {
	switch {
	case r.caps["multi_ack_detailed"]:
		return ackDetailed
	case r.caps["multi_ack"]:
		return ackMulti
	}
	return ackSingle
}

// errUnsupported is a request for what this index does not serve. It goes
// to the client as an ERR packet, which git prints.
type errUnsupported string

func (e errUnsupported) Error() string { return string(e) }

// pktReader reads pkt-lines from a whole request body. Besides flush
// (0000) it knows version 2's delimiter (0001) and response end (0002).
type pktReader struct{ b []byte }

type pktKind int

const (
	pktData pktKind = iota
	pktFlush
	pktDelim
	pktEnd
	pktEOF
)

// next returns the next packet, its payload without the trailing newline.
func (p *pktReader) next() ([]byte, pktKind, error) {
	if len(p.b) == 0 {
		return nil, pktEOF, nil
	}
	if len(p.b) < 4 {
		return nil, 0, errBadRequest
	}
	n, err := strconv.ParseUint(string(p.b[:4]), 16, 16)
	switch {
	case err != nil:
		return nil, 0, errBadRequest
	case n == 0:
		p.b = p.b[4:]
		return nil, pktFlush, nil
	case n == 1:
		p.b = p.b[4:]
		return nil, pktDelim, nil
	case n == 2:
		p.b = p.b[4:]
		return nil, pktEnd, nil
	case n < 4 || int(n) > len(p.b):
		return nil, 0, errBadRequest
	}
	line := bytes.TrimSuffix(p.b[4:n], []byte("\n"))
	p.b = p.b[n:]
	return line, pktData, nil
}

// isV2 reports whether a request body is a protocol version 2 command.
func isV2(body []byte) bool {
	line, kind, err := (&pktReader{body}).next()
	return err == nil && kind == pktData && bytes.HasPrefix(line, []byte("command="))
}

// parseUploadRequest reads a version 0 request: "want" lines (capabilities
// on the first), "shallow" and "deepen" lines, a flush, then "have" lines
// ended by "done", a flush or the end of the body.
func parseUploadRequest(body []byte) (*uploadRequest, error) {
	req := &uploadRequest{caps: map[string]bool{}}
	p := &pktReader{body}
	inWants := true
	for {
		raw, kind, err := p.next()
		switch {
		case err != nil:
			return nil, err
		case kind == pktEOF:
			return req, nil
		case kind != pktData: // flush
			if inWants {
				inWants = false
				continue
			}
			return req, nil
		}
		line := string(raw)
		if inWants {
			if rest, ok := strings.CutPrefix(line, "want "); ok {
				hex, caps, _ := strings.Cut(rest, " ")
				if err := req.want(hex); err != nil {
					return nil, err
				}
				if len(req.wants) == 1 {
					for _, c := range strings.Fields(caps) {
						name, _, _ := strings.Cut(c, "=")
						req.caps[name] = true
					}
				}
				continue
			}
			if err := req.shallowLine(line); err != nil {
				return nil, err
			}
			continue
		}
		if line == "done" {
			req.done = true
			return req, nil
		}
		hex, ok := strings.CutPrefix(line, "have ")
		if !ok {
			return nil, fmt.Errorf("%w: unexpected %q", errBadRequest, short(line))
		}
		if err := req.have(hex); err != nil {
			return nil, err
		}
	}
}

func (req *uploadRequest) want(hex string) error {
	h, ok := parseHash(hex)
	if !ok {
		return fmt.Errorf("%w: bad object id in want", errBadRequest)
	}
	if len(req.wants) >= maxWants {
		return errTooLarge
	}
	req.wants = append(req.wants, h)
	return nil
}

func (req *uploadRequest) have(hex string) error {
	h, ok := parseHash(hex)
	if !ok {
		return fmt.Errorf("%w: bad object id in have", errBadRequest)
	}
	req.haves = append(req.haves, h)
	return nil
}

// shallowLine reads a line of a shallow request, the same in both versions.
func (req *uploadRequest) shallowLine(line string) error {
	cmd, arg, _ := strings.Cut(line, " ")
	switch cmd {
	case "shallow":
		// A commit the client has without its parents: a root commit
		// of this index has none, so there is nothing to tell it.
		if _, ok := parseHash(arg); !ok {
			return fmt.Errorf("%w: bad object id in shallow", errBadRequest)
		}
		req.shallows = true
		return nil
	case "deepen":
		if n, err := strconv.Atoi(arg); err != nil || n <= 0 {
			return fmt.Errorf("%w: bad depth %q", errBadRequest, short(arg))
		}
	case "deepen-since":
		if _, err := strconv.ParseInt(arg, 10, 64); err != nil {
			return fmt.Errorf("%w: bad time %q", errBadRequest, short(arg))
		}
	case "deepen-relative":
	case "deepen-not":
		// Everything reachable from a reference is excluded: of a root
		// commit, everything, and git's own server fails the request.
		return errUnsupported("deepen-not (git fetch --shallow-exclude) is not supported by this index: every commit of it is a whole index without parents; use --depth=1")
	case "filter":
		return errUnsupported("filtered fetches are not supported by this index")
	default:
		return fmt.Errorf("%w: unexpected %q", errBadRequest, short(line))
	}
	req.deepen = true
	return nil
}

func parseHash(s string) (plumbing.Hash, bool) {
	if len(s) != 40 || !plumbing.IsHash(s) {
		return plumbing.ZeroHash, false
	}
	return plumbing.NewHash(s), true
}

func short(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// serveUploadPack answers one POST: a negotiation round of protocol
// version 0, or a command of version 2 (ls-refs, fetch).
func (ix *Index) serveUploadPack(w http.ResponseWriter, r *http.Request) {
	body, err := requestBody(w, r)
	var raw []byte
	if err == nil {
		raw, err = io.ReadAll(body)
	}
	if err == nil && isV2(raw) {
		ix.serveV2(w, r, raw)
		return
	}
	var req *uploadRequest
	if err == nil {
		req, err = parseUploadRequest(raw)
	}
	if err == nil && len(req.wants) == 0 {
		http.Error(w, "upload-pack request wants nothing", http.StatusBadRequest)
		return
	}
	if ix.refuse(w, err) {
		return
	}
	ix.answer(w, r, req)
}

// refuse answers a request that could not be read, if err is set, and
// reports whether it did.
func (ix *Index) refuse(w http.ResponseWriter, err error) bool {
	var tooBig *http.MaxBytesError
	var unsupported errUnsupported
	switch {
	case err == nil:
		return false
	case errors.As(err, &tooBig) || errors.Is(err, errTooLarge):
		http.Error(w, "upload-pack request too large", http.StatusRequestEntityTooLarge)
	case errors.As(err, &unsupported):
		// In the protocol, so that git prints it.
		w.Header().Set("Content-Type", "application/x-git-upload-pack-result")
		_ = pktline.NewEncoder(w).Encodef("ERR %s\n", unsupported)
	default:
		http.Error(w, "malformed upload-pack request", http.StatusBadRequest)
	}
	return true
}

// answer serves a negotiation round or a fetch. Without "done" it
// acknowledges the commits it has in common with the client; with "done"
// (or, in version 2, once a common commit is found) it sends the pack of
// everything reachable from the wants and not from the common commits. The
// pack is built under the shared lock and in a pack slot, and spooled, so
// that a slow client holds neither.
func (ix *Index) answer(w http.ResponseWriter, r *http.Request, req *uploadRequest) {
	// A commit named by another replica's references may not be made
	// here yet.
	ix.awaitWants(r.Context(), req.wants)

	// The slot covers building the pack, into memory or a temporary file,
	// and nothing after: a client that reads slowly or never must not
	// keep others from fetching.
	select {
	case ix.packSlots <- struct{}{}:
	case <-r.Context().Done():
		return
	}
	common, pack, err := ix.negotiate(req)
	<-ix.packSlots
	if pack != nil {
		defer pack.Close()
	}
	// Every write to the client has SendTimeout to complete, so a client
	// that stops reading is cut off rather than holding the pack and the
	// connection, while a clone that keeps moving is never cut.
	out := &sendWriter{w: w, rc: http.NewResponseController(w), timeout: ix.cfg.SendTimeout}
	if err != nil {
		var ne notOurs
		if errors.As(err, &ne) {
			// Reported in the protocol, so git prints it.
			w.Header().Set("Content-Type", "application/x-git-upload-pack-result")
			_ = pktline.NewEncoder(out).Encodef("ERR upload-pack: not our ref %s\n", ne.String())
			return
		}
		if errors.As(err, new(errUnsupported)) {
			ix.refuse(w, err)
			return
		}
		ix.log.ErrorContext(r.Context(), "git index: upload-pack", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}

	w.Header().Set("Content-Type", "application/x-git-upload-pack-result")
	w.Header().Set("Cache-Control", "no-cache, max-age=0, must-revalidate")
	var head bytes.Buffer
	if req.v2 {
		fetchHead(&head, req, common, pack != nil)
	} else if !ackHead(&head, req, common) {
		pack = nil
	}
	if _, err := head.WriteTo(out); err != nil || pack == nil {
		return
	}
	var err2 error
	if req.v2 {
		// Version 2 sends the pack on side band 1, then ends the answer.
		sb := &sideband{w: out}
		if _, err2 = pack.WriteTo(sb); err2 == nil {
			_, err2 = io.WriteString(out, "0000")
		}
	} else {
		_, err2 = pack.WriteTo(out)
	}
	if err2 != nil {
		ix.log.DebugContext(r.Context(), "git index: send pack", "err", err2)
	}
}

// ackHead writes what comes before the pack in version 0: the shallow
// section, then the ACK and NAK lines. It reports whether the pack (if
// any) follows; the first request of a shallow fetch gets the shallow
// section alone, as git answers it.
func ackHead(b *bytes.Buffer, req *uploadRequest, common []plumbing.Hash) bool {
	e := pktline.NewEncoder(b)
	if req.deepen {
		_ = e.Flush() // no shallow or unshallow line: root commits
		if !req.done && len(req.haves) == 0 {
			return false
		}
	}
	mode := req.mode()
	for i, h := range common {
		switch {
		case mode == ackDetailed:
			_ = e.Encodef("ACK %s common\n", h)
		case mode == ackMulti:
			_ = e.Encodef("ACK %s continue\n", h)
		case i == 0:
			_ = e.Encodef("ACK %s\n", h)
		}
	}
	switch {
	case !req.done:
		if mode != ackSingle || len(common) == 0 {
			_ = e.Encodef("NAK\n")
		}
	case len(common) == 0:
		_ = e.Encodef("NAK\n")
	case mode != ackSingle:
		_ = e.Encodef("ACK %s\n", common[len(common)-1])
	}
	return true
}

// fetchHead writes the sections of a version 2 fetch answer that come
// before the pack's data: acknowledgments (unless the client is done),
// "ready" and the delimiter when the pack follows, the shallow-info
// section, and the packfile section's header.
func fetchHead(b *bytes.Buffer, req *uploadRequest, common []plumbing.Hash, withPack bool) {
	e := pktline.NewEncoder(b)
	if !req.done {
		_ = e.EncodeString("acknowledgments\n")
		if len(common) == 0 {
			_ = e.EncodeString("NAK\n")
		}
		for _, h := range common {
			_ = e.Encodef("ACK %s\n", h)
		}
		if !withPack {
			_ = e.Flush()
			return
		}
		_ = e.EncodeString("ready\n")
		b.WriteString("0001")
	}
	if req.deepen || req.shallows {
		_ = e.EncodeString("shallow-info\n") // and no line: root commits
		b.WriteString("0001")
	}
	_ = e.EncodeString("packfile\n")
}

// sideband writes its data as pkt-lines of band 1 (the pack's data).
type sideband struct{ w io.Writer }

// sidebandMax is the most data one pkt-line of side-band-64k carries:
// 65520 bytes less the length and the band.
const sidebandMax = 65515

func (s *sideband) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		chunk := p[:min(len(p), sidebandMax)]
		var hdr [5]byte
		copy(hdr[:4], fmt.Sprintf("%04x", len(chunk)+5))
		hdr[4] = 1
		if _, err := s.w.Write(append(hdr[:], chunk...)); err != nil {
			return n, err
		}
		n += len(chunk)
		p = p[len(chunk):]
	}
	return n, nil
}

// sendChunk is the most written to a client under one deadline.
const sendChunk = 64 << 10

// sendWriter writes to a client in chunks, each with timeout to complete.
// The last deadline stays set when the handler returns, so that net/http's
// final flush is bounded too; the server clears it before the connection
// serves another request. A wrapper of the ResponseWriter that sets its own
// deadline on each write (crated serve's, from write_timeout) sets it after
// this one, and wins.
type sendWriter struct {
	w       io.Writer
	rc      *http.ResponseController
	timeout time.Duration
}

func (s *sendWriter) Write(p []byte) (n int, err error) {
	for len(p) > 0 {
		chunk := p[:min(len(p), sendChunk)]
		// ErrNotSupported (a ResponseWriter that cannot set deadlines,
		// as in some tests) leaves the write unbounded, as before.
		_ = s.rc.SetWriteDeadline(time.Now().Add(s.timeout))
		m, err := s.w.Write(chunk)
		n += m
		if err != nil {
			return n, err
		}
		p = p[len(chunk):]
	}
	return n, nil
}

// notOurs is a wanted object this repository does not have.
type notOurs struct{ plumbing.Hash }

func (n notOurs) Error() string { return "not our ref " + n.String() }

// negotiate finds the offered commits this repository has and, when the
// client is done, builds the pack.
func (ix *Index) negotiate(req *uploadRequest) ([]plumbing.Hash, *spool, error) {
	ix.repoMu.RLock()
	defer ix.repoMu.RUnlock()
	st := ix.newStorage(cache.NewObjectLRU(4 * cache.MiByte))
	for _, h := range req.wants {
		if err := st.HasEncodedObject(h); err != nil {
			if errors.Is(err, plumbing.ErrObjectNotFound) {
				return nil, nil, notOurs{h}
			}
			return nil, nil, err
		}
	}
	var common []plumbing.Hash
	seen := map[plumbing.Hash]bool{}
	for _, h := range req.haves {
		if seen[h] {
			continue
		}
		seen[h] = true
		switch err := st.HasEncodedObject(h); {
		case err == nil:
			common = append(common, h)
		case !errors.Is(err, plumbing.ErrObjectNotFound):
			return nil, nil, err
		}
		// An unknown commit is simply not common: clients of a rebuilt
		// index offer history it no longer has.
	}
	if req.deepen {
		// The empty shallow section is true of root commits only. Every
		// commit crated makes is one; a repository left by Ktra has a
		// history until the first sync replaces it.
		for _, h := range req.wants {
			if c, err := object.GetCommit(st, h); err == nil && len(c.ParentHashes) > 0 {
				return nil, nil, errUnsupported("this index is not ready for shallow fetches yet; fetch without --depth")
			}
		}
	}
	// In version 2 the server ends the negotiation when it likes: a
	// common commit is as good a base as any other of this index, whose
	// commits share no history.
	ready := req.done || req.v2 && len(common) > 0 && !req.caps["wait-for-done"]
	if !ready {
		return common, nil, nil
	}
	objs, err := revlist.Objects(st, req.wants, common)
	if err != nil {
		return nil, nil, fmt.Errorf("list objects: %w", err)
	}
	pack := &spool{mem: &ix.spooled}
	enc := packfile.NewEncoder(pack, st, !req.caps["ofs-delta"])
	if _, err := enc.Encode(objs, packDepth); err != nil {
		pack.Close()
		return nil, nil, fmt.Errorf("encode pack: %w", err)
	}
	return common, pack, nil
}

// spoolMemory is how much of one pack is kept in memory before the rest
// goes to a temporary file, and maxSpoolMemory how much all the packs
// waiting for their clients may keep in memory together.
const (
	spoolMemory    = 4 << 20
	maxSpoolMemory = 64 << 20
)

// spoolBudget is the memory that the spools of one Index share.
type spoolBudget struct {
	used atomic.Int64
	max  int64
}

// spool holds a pack between its encoding and its sending.
type spool struct {
	mem  *spoolBudget
	held int64 // this spool's part of mem.used
	buf  bytes.Buffer
	f    *os.File
}

func (s *spool) Write(p []byte) (int, error) {
	if s.f == nil && (s.buf.Len()+len(p) > spoolMemory || !s.reserve(len(p))) {
		f, err := os.CreateTemp("", "crated-git-pack-*")
		if err != nil {
			return 0, err
		}
		s.f = f
		_, err = s.buf.WriteTo(f)
		s.release()
		if err != nil {
			return 0, err
		}
	}
	if s.f != nil {
		return s.f.Write(p)
	}
	return s.buf.Write(p)
}

// reserve counts n more bytes in memory, unless that would pass the
// budget.
func (s *spool) reserve(n int) bool {
	if s.mem.used.Add(int64(n)) > s.mem.max {
		s.mem.used.Add(-int64(n))
		return false
	}
	s.held += int64(n)
	return true
}

// release gives back the memory of buf, which must then be empty or
// dropped.
func (s *spool) release() {
	s.mem.used.Add(-s.held)
	s.held = 0
	s.buf = bytes.Buffer{}
}

func (s *spool) WriteTo(w io.Writer) (int64, error) {
	if s.f == nil {
		return s.buf.WriteTo(w)
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return 0, err
	}
	return io.Copy(w, s.f)
}

func (s *spool) Close() error {
	if s.f == nil {
		s.release()
		return nil
	}
	err := s.f.Close()
	os.Remove(s.f.Name())
	return err
}

package gitindex

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/plumbing/format/pktline"
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

const (
	maxWants  = 1024
	packDepth = 10 // delta window of the pack encoder
)

// uploadRequest is one POST of the negotiation: the wanted tips, the
// client's capabilities, the commits it offers and whether it is done.
type uploadRequest struct {
	wants []plumbing.Hash
	caps  map[string]bool
	haves []plumbing.Hash
	done  bool
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

var errUnsupported = errors.New("shallow and filtered fetches are not supported by this index; fetch the whole history")

// parseUploadRequest reads "want" lines (capabilities on the first), a
// flush, then "have" lines ended by "done", a flush or the end of the body.
func parseUploadRequest(r io.Reader) (*uploadRequest, error) {
	req := &uploadRequest{caps: map[string]bool{}}
	s := pktline.NewScanner(r)
	inWants := true
	for s.Scan() {
		raw := s.Bytes()
		if len(raw) == 0 { // flush
			if inWants {
				inWants = false
				continue
			}
			return req, nil
		}
		line := strings.TrimSuffix(string(raw), "\n")
		if inWants {
			rest, ok := strings.CutPrefix(line, "want ")
			if !ok {
				if strings.HasPrefix(line, "shallow ") || strings.HasPrefix(line, "deepen") || strings.HasPrefix(line, "filter ") {
					return nil, errUnsupported
				}
				return nil, fmt.Errorf("%w: unexpected %q", errBadRequest, short(line))
			}
			hex, caps, _ := strings.Cut(rest, " ")
			h, ok := parseHash(hex)
			if !ok {
				return nil, fmt.Errorf("%w: bad object id in want", errBadRequest)
			}
			if len(req.wants) >= maxWants {
				return nil, errTooLarge
			}
			req.wants = append(req.wants, h)
			if len(req.wants) == 1 {
				for _, c := range strings.Fields(caps) {
					name, _, _ := strings.Cut(c, "=")
					req.caps[name] = true
				}
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
		h, ok := parseHash(hex)
		if !ok {
			return nil, fmt.Errorf("%w: bad object id in have", errBadRequest)
		}
		req.haves = append(req.haves, h)
	}
	if err := s.Err(); err != nil {
		return nil, err
	}
	return req, nil
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

// serveUploadPack answers one negotiation round. Without "done" it only
// acknowledges the commits it has in common with the client; with "done" it
// sends the pack of everything reachable from the wants and not from the
// common commits. The pack is built under the shared lock and in a pack
// slot, and spooled, so that a slow client holds neither.
func (ix *Index) serveUploadPack(w http.ResponseWriter, r *http.Request) {
	body, err := requestBody(w, r)
	var req *uploadRequest
	if err == nil {
		req, err = parseUploadRequest(body)
	}
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig) || errors.Is(err, errTooLarge):
		http.Error(w, "upload-pack request too large", http.StatusRequestEntityTooLarge)
		return
	case errors.Is(err, errUnsupported):
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	case err != nil:
		http.Error(w, "malformed upload-pack request", http.StatusBadRequest)
		return
	case len(req.wants) == 0:
		http.Error(w, "upload-pack request wants nothing", http.StatusBadRequest)
		return
	}

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
		ix.log.Error("git index: upload-pack", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}

	w.Header().Set("Content-Type", "application/x-git-upload-pack-result")
	w.Header().Set("Cache-Control", "no-cache, max-age=0, must-revalidate")
	var acks bytes.Buffer
	e := pktline.NewEncoder(&acks)
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
	if _, err := acks.WriteTo(out); err != nil {
		return
	}
	if pack != nil {
		if _, err := pack.WriteTo(out); err != nil {
			ix.log.Debug("git index: send pack", "err", err)
		}
	}
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
	if !req.done {
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

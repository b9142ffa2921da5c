package gitindex

import (
	"compress/gzip"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/pktline"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp/capability"
)

// maxRequest bounds an upload-pack request body, compressed and
// uncompressed. Clients send one "have" line (50 bytes) per commit they
// offer; git grows its batches to about 16k lines, so 8 MiB leaves room.
const maxRequest = 8 << 20

// Handler serves the repository read-only over git's smart HTTP protocol
// (stateless, versions 0 and 2, shallow fetches included): GET
// info/refs?service=git-upload-pack and POST git-upload-pack. Pushing (git-receive-pack) is refused with 403, and so is
// the dumb protocol. The caller mounts it at "/git/index/" with that prefix
// stripped; a leading slash is tolerated. Cargo's index URL is then
// "{base}/git/index".
//
// The git protocol answers in plain text, not in cargo's JSON error body:
// git and libgit2 show the HTTP status, and errors met while negotiating go
// to the client as an "ERR" packet.
func (ix *Index) Handler() http.Handler {
	return http.HandlerFunc(ix.serveHTTP)
}

func (ix *Index) serveHTTP(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, "/")
	switch path {
	case "info/refs":
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		switch r.URL.Query().Get("service") {
		case "git-upload-pack":
			if wantsV2(r) {
				ix.serveV2Capabilities(w, r)
				return
			}
			ix.serveRefs(w, r)
		case "git-receive-pack":
			http.Error(w, "this index is read-only: crated writes it from its metadata store", http.StatusForbidden)
		default:
			http.Error(w, "only git's smart HTTP protocol is served (git 1.6.6 or later)", http.StatusForbidden)
		}
	case "git-upload-pack":
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", "POST")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		ix.serveUploadPack(w, r)
	case "git-receive-pack":
		http.Error(w, "this index is read-only: crated writes it from its metadata store", http.StatusForbidden)
	default:
		http.NotFound(w, r)
	}
}

// advertised lists what this server supports: multi_ack_detailed, which
// both git and libgit2 need to negotiate incremental fetches over stateless
// HTTP, ofs-delta, and the symref telling clients which branch HEAD is.
func (ix *Index) capabilities() *capability.List {
	c := capability.NewList()
	_ = c.Set(capability.MultiACK)
	_ = c.Set(capability.MultiACKDetailed)
	_ = c.Set(capability.OFSDelta)
	// Every commit is a root commit: any depth is the whole commit, so
	// shallow requests are answered with an empty shallow section.
	_ = c.Set(capability.Shallow)
	_ = c.Set(capability.DeepenSince)
	_ = c.Set(capability.DeepenRelative)
	_ = c.Set(capability.SymRef, "HEAD:"+ix.branch.String())
	_ = c.Set(capability.Agent, "crated")
	return c
}

// serveRefs answers the reference advertisement: HEAD and the branch.
func (ix *Index) serveRefs(w http.ResponseWriter, r *http.Request) {
	ix.repoMu.RLock()
	ref, err := ix.newStorage(ix.readCache).Reference(ix.branch)
	ix.repoMu.RUnlock()
	ar := packp.NewAdvRefs()
	ar.Prefix = [][]byte{[]byte("# service=git-upload-pack"), pktline.Flush}
	ar.Capabilities = ix.capabilities()
	switch {
	case err == nil:
		h := ref.Hash()
		ar.Head = &h
		ar.References[ix.branch.String()] = h
	case errors.Is(err, plumbing.ErrReferenceNotFound):
		// Nothing synced yet: an empty repository. Git announces it with
		// no references and the capabilities on a zero-id line.
		ar.Capabilities.Delete(capability.SymRef)
	default:
		ix.log.ErrorContext(r.Context(), "git index: read the branch", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/x-git-upload-pack-advertisement")
	h.Set("Cache-Control", "no-cache, max-age=0, must-revalidate")
	if r.Method == http.MethodHead {
		return
	}
	if err := ar.Encode(w); err != nil {
		ix.log.DebugContext(r.Context(), "git index: write advertisement", "err", err)
	}
}

// requestBody returns the request body, decompressed (git gzips large
// requests), with its size bounded.
func requestBody(w http.ResponseWriter, r *http.Request) (io.Reader, error) {
	body := io.Reader(http.MaxBytesReader(w, r.Body, maxRequest))
	switch strings.ToLower(r.Header.Get("Content-Encoding")) {
	case "", "identity":
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(body)
		if err != nil {
			return nil, errBadRequest
		}
		body = &boundedReader{r: zr, left: maxRequest}
	default:
		return nil, errBadRequest
	}
	return body, nil
}

var (
	errBadRequest = errors.New("malformed upload-pack request")
	errTooLarge   = errors.New("upload-pack request too large")
)

// boundedReader fails with errTooLarge past its limit, so a small gzip body
// cannot expand without bound.
type boundedReader struct {
	r    io.Reader
	left int64
}

func (b *boundedReader) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, errTooLarge
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	return n, err
}

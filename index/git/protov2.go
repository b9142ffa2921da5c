package gitindex

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/pktline"
)

// This file is git's protocol version 2 over stateless HTTP, which git
// 2.26 and later ask for (header "Git-Protocol: version=2"): info/refs
// answers with the server's capabilities, and each POST is one command,
// ls-refs (the references) or fetch (a negotiation round or the pack).
// libgit2 speaks version 0 only and never asks.

// v2Capabilities is what this server offers in version 2: fetch with
// shallow (deepen, deepen-since, deepen-relative; every commit is a root
// commit, so there is never a shallow boundary to report).
const v2Capabilities = "version 2\nagent=crated\nls-refs\nfetch=shallow\nobject-format=sha1\n"

// wantsV2 reports whether a request asks for protocol version 2.
func wantsV2(r *http.Request) bool {
	for _, kv := range strings.Split(r.Header.Get("Git-Protocol"), ":") {
		if strings.TrimSpace(kv) == "version=2" {
			return true
		}
	}
	return false
}

// serveV2Capabilities answers info/refs in version 2. Like git
// http-backend, it sends no "# service" line: a client asking for version
// 2 reads "version 2" first.
func (ix *Index) serveV2Capabilities(w http.ResponseWriter, r *http.Request) {
	var b bytes.Buffer
	e := pktline.NewEncoder(&b)
	for _, line := range strings.SplitAfter(strings.TrimSuffix(v2Capabilities, "\n"), "\n") {
		_ = e.EncodeString(strings.TrimSuffix(line, "\n") + "\n")
	}
	_ = e.Flush()
	h := w.Header()
	h.Set("Content-Type", "application/x-git-upload-pack-advertisement")
	h.Set("Cache-Control", "no-cache, max-age=0, must-revalidate")
	if r.Method == http.MethodHead {
		return
	}
	_, _ = b.WriteTo(w)
}

// parseV2 splits a version 2 request into its command, capabilities and
// arguments.
func parseV2(body []byte) (cmd string, caps, args []string, err error) {
	p := &pktReader{body}
	inArgs := false
	for {
		line, kind, err := p.next()
		if err != nil {
			return "", nil, nil, err
		}
		switch kind {
		case pktFlush, pktEOF:
			if cmd == "" {
				return "", nil, nil, errBadRequest
			}
			return cmd, caps, args, nil
		case pktDelim:
			if inArgs {
				return "", nil, nil, errBadRequest
			}
			inArgs = true
			continue
		case pktEnd:
			return "", nil, nil, errBadRequest
		}
		switch {
		case inArgs:
			if len(args) >= 2*maxWants+65536 {
				return "", nil, nil, errTooLarge
			}
			args = append(args, string(line))
		case cmd == "":
			c, ok := bytes.CutPrefix(line, []byte("command="))
			if !ok {
				return "", nil, nil, errBadRequest
			}
			cmd = string(c)
		default:
			caps = append(caps, string(line))
		}
	}
}

// serveV2 answers one version 2 command.
func (ix *Index) serveV2(w http.ResponseWriter, r *http.Request, body []byte) {
	cmd, caps, args, err := parseV2(body)
	if ix.refuse(w, err) {
		return
	}
	for _, c := range caps {
		if of, ok := strings.CutPrefix(c, "object-format="); ok && of != "sha1" {
			ix.refuse(w, errUnsupported("this index uses sha1 object ids"))
			return
		}
	}
	switch cmd {
	case "ls-refs":
		ix.lsRefs(w, r, args)
	case "fetch":
		req, err := fetchRequest(args)
		if err == nil && len(req.wants) == 0 {
			err = fmt.Errorf("%w: fetch wants nothing", errBadRequest)
		}
		if ix.refuse(w, err) {
			return
		}
		ix.answer(w, r, req)
	default:
		ix.refuse(w, errUnsupported(fmt.Sprintf("unknown command %q", short(cmd))))
	}
}

// fetchRequest reads the arguments of version 2's fetch.
func fetchRequest(args []string) (*uploadRequest, error) {
	req := &uploadRequest{v2: true, caps: map[string]bool{}}
	for _, a := range args {
		var err error
		switch {
		case strings.HasPrefix(a, "want "):
			err = req.want(a[len("want "):])
		case strings.HasPrefix(a, "have "):
			err = req.have(a[len("have "):])
		case a == "done":
			req.done = true
		case a == "thin-pack", a == "no-progress", a == "include-tag", a == "ofs-delta", a == "wait-for-done":
			// A pack is never thin, never has progress or tags (the
			// index has none) and is always a valid one with ofs-delta.
			req.caps[a] = true
		case strings.HasPrefix(a, "want-ref "), a == "sideband-all", strings.HasPrefix(a, "packfile-uris "):
			err = errUnsupported(fmt.Sprintf("%q is not offered by this index", short(a)))
		default:
			err = req.shallowLine(a)
		}
		if err != nil {
			return nil, err
		}
	}
	return req, nil
}

// lsRefs answers ls-refs: HEAD and the branch, filtered by the client's
// ref-prefix arguments.
func (ix *Index) lsRefs(w http.ResponseWriter, r *http.Request, args []string) {
	symrefs := false
	var prefixes []string
	for _, a := range args {
		switch {
		case a == "symrefs":
			symrefs = true
		case a == "peel", a == "unborn":
			// No tags to peel; an empty index lists nothing.
		case strings.HasPrefix(a, "ref-prefix "):
			if len(prefixes) < 64 {
				prefixes = append(prefixes, a[len("ref-prefix "):])
			}
		default:
			ix.refuse(w, fmt.Errorf("%w: unexpected %q", errBadRequest, short(a)))
			return
		}
	}
	ix.repoMu.RLock()
	ref, err := ix.newStorage(ix.readCache).Reference(ix.branch)
	ix.repoMu.RUnlock()
	if err != nil && !errors.Is(err, plumbing.ErrReferenceNotFound) {
		ix.log.ErrorContext(r.Context(), "git index: read the branch", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	wanted := func(name string) bool {
		if len(prefixes) == 0 {
			return true
		}
		for _, p := range prefixes {
			if strings.HasPrefix(name, p) {
				return true
			}
		}
		return false
	}
	var b bytes.Buffer
	e := pktline.NewEncoder(&b)
	if err == nil {
		h := ref.Hash().String()
		if wanted("HEAD") {
			if symrefs {
				_ = e.Encodef("%s HEAD symref-target:%s\n", h, ix.branch)
			} else {
				_ = e.Encodef("%s HEAD\n", h)
			}
		}
		if wanted(ix.branch.String()) {
			_ = e.Encodef("%s %s\n", h, ix.branch)
		}
	}
	_ = e.Flush()
	w.Header().Set("Content-Type", "application/x-git-upload-pack-result")
	w.Header().Set("Cache-Control", "no-cache, max-age=0, must-revalidate")
	_, _ = b.WriteTo(w)
}

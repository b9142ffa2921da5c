package httpapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/crated/crated"
)

// handleDownload serves a .crate file. Files are immutable (content-addressed
// by their checksum), so the ETag is the checksum and caches may keep them
// for a year (only private caches on a private registry: privateCaching). Yanked versions stay downloadable: lockfiles still need them.
func (s *Server) handleDownload(w http.ResponseWriter, r *http.Request) error {
	name, vers := r.PathValue("name"), r.PathValue("version")
	f, err := s.index.Lookup(r.Context(), strings.ToLower(name))
	if err != nil {
		return err
	}
	ref, ok := f.Versions[vers]
	if !ok {
		return crated.Errorf(crated.ENOTFOUND, "crate `%s` does not have a version `%s`", f.Name, vers)
	}
	s.countDownload(ref.ID)
	filename := f.Name + "-" + vers + ".crate"
	if rd, ok := s.blobs.(crated.BlobRedirector); ok {
		url, err := rd.RedirectURL(r.Context(), ref.Cksum, filename)
		if err != nil {
			return err
		}
		if url != "" {
			http.Redirect(w, r, url, http.StatusTemporaryRedirect)
			return nil
		}
	}
	blob, err := s.blobs.Open(r.Context(), ref.Cksum)
	if err != nil {
		if crated.IsCode(err, crated.ENOTFOUND) {
			// The store says the version exists: a missing file is our fault.
			s.log.ErrorContext(r.Context(), "crate file missing from blob store", "crate", f.Name, "version", vers, "cksum", ref.Cksum)
			return crated.Errorf(crated.EINTERNAL, "crate file is missing")
		}
		return err
	}
	defer blob.Close()
	h := w.Header()
	h["Etag"] = []string{`"` + ref.Cksum + `"`}
	h["Cache-Control"] = []string{CrateCacheControl}
	h["Content-Type"] = []string{CrateContentType}
	h["Content-Disposition"] = []string{`attachment; filename="` + filename + `"`}
	http.ServeContent(w, r, "", blob.ModTime(), blob)
	return nil
}

func (s *Server) countDownload(versionID int64) {
	s.dlMu.Lock()
	s.downloads[versionID]++
	s.dlMu.Unlock()
}

// FlushDownloads writes the download counts gathered since the last flush.
// Counting in memory keeps a database write off the download path.
func (s *Server) FlushDownloads(ctx context.Context) error {
	s.dlMu.Lock()
	counts := s.downloads
	s.downloads = map[int64]int64{}
	s.dlMu.Unlock()
	if len(counts) == 0 {
		return nil
	}
	if err := s.svc.Store().AddDownloads(ctx, counts); err != nil {
		// Put them back so the next flush retries.
		s.dlMu.Lock()
		for id, n := range counts {
			s.downloads[id] += n
		}
		s.dlMu.Unlock()
		return err
	}
	return nil
}

package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"strconv"

	"github.com/crated/crated"
	"github.com/crated/crated/cargo"
)

// maxJSONBody bounds the small JSON bodies of the owners and login APIs.
const maxJSONBody = 64 << 10

// decodeJSON reads a bounded JSON body into v.
func (s *Server) decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	s.limitBodyTime(w)
	body := http.MaxBytesReader(w, r.Body, maxJSONBody)
	dec := json.NewDecoder(body)
	if err := dec.Decode(v); err != nil {
		if err == io.EOF {
			return crated.Errorf(crated.EINVALID, "request body is empty: expected JSON")
		}
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) || errors.Is(err, os.ErrDeadlineExceeded) {
			// The body itself failed: too large, too slow.
			return bodyError(err)
		}
		return crated.Errorf(crated.EINVALID, "request body is not valid JSON: %v", err)
	}
	return nil
}

func (s *Server) handlePublish(w http.ResponseWriter, r *http.Request, u *crated.User) error {
	lim := s.svc.Limits()
	max := lim.MaxMetadata + lim.MaxCrate + 8
	if r.ContentLength > max {
		// Refuse before reading: curl waits on Expect: 100-continue and
		// never sends the body.
		return cargo.CrateTooLarge(lim.MaxCrate, 0)
	}
	if err := s.limitPublish(r, u); err != nil {
		return err
	}
	// The whole body is received before the publish reads it, and kept in
	// memory only up to spoolMemory: a slow or stalled upload costs a file
	// until read_timeout cuts it, not 10 MiB of heap.
	body, err := spool(http.MaxBytesReader(w, r.Body, max), s.cfg.SpoolDir, r.ContentLength)
	if err != nil {
		return err
	}
	defer body.Close()
	res, err := s.svc.Publish(r.Context(), u, body)
	if err != nil {
		return err
	}
	s.log.InfoContext(r.Context(), "published", "crate", res.Crate, "version", res.Version, "user", u.Login)
	writeJSON(w, http.StatusOK, res)
	return nil
}

type okResponse struct {
	OK  bool   `json:"ok"`
	Msg string `json:"msg,omitempty"`
}

func (s *Server) handleYank(yank bool) authedFunc {
	return func(w http.ResponseWriter, r *http.Request, u *crated.User) error {
		name, vers := r.PathValue("name"), r.PathValue("version")
		if err := s.svc.Yank(r.Context(), u, name, vers, yank); err != nil {
			return err
		}
		action := "yanked"
		if !yank {
			action = "unyanked"
		}
		s.log.InfoContext(r.Context(), action, "crate", name, "version", vers, "user", u.Login)
		writeJSON(w, http.StatusOK, okResponse{OK: true})
		return nil
	}
}

type ownerJSON struct {
	ID    int64   `json:"id"`
	Login string  `json:"login"`
	Name  *string `json:"name"`
	Email *string `json:"email,omitempty"`
}

func (s *Server) handleOwnersList(w http.ResponseWriter, r *http.Request) error {
	owners, err := s.svc.Owners(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	out := struct {
		Users []ownerJSON `json:"users"`
	}{Users: make([]ownerJSON, 0, len(owners))}
	for _, o := range owners {
		name := o.Name
		out.Users = append(out.Users, ownerJSON{ID: o.ID, Login: o.Login, Name: &name})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) handleOwnersChange(add bool) authedFunc {
	return func(w http.ResponseWriter, r *http.Request, u *crated.User) error {
		var body struct {
			Users  []string `json:"users"`
			Owners []string `json:"owners"` // crates.io accepts this key too
		}
		if err := s.decodeJSON(w, r, &body); err != nil {
			return err
		}
		logins := append(body.Users, body.Owners...)
		var msg string
		var err error
		if add {
			msg, err = s.svc.AddOwners(r.Context(), u, r.PathValue("name"), logins)
		} else {
			msg, err = s.svc.RemoveOwners(r.Context(), u, r.PathValue("name"), logins)
		}
		if err != nil {
			return err
		}
		s.log.InfoContext(r.Context(), "owners changed", "crate", r.PathValue("name"), "add", add, "logins", logins, "user", u.Login)
		writeJSON(w, http.StatusOK, okResponse{OK: true, Msg: msg})
		return nil
	}
}

type searchCrate struct {
	Name        string  `json:"name"`
	MaxVersion  string  `json:"max_version"`
	Description *string `json:"description"`
}

func (s *Server) handleSearch(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	perPage, err := intParam(q.Get("per_page"), 10)
	if err != nil {
		return err
	}
	page, err := intParam(q.Get("page"), 1)
	if err != nil {
		return err
	}
	crates, total, err := s.svc.Search(r.Context(), q.Get("q"), page, perPage)
	if err != nil {
		return err
	}
	out := struct {
		Crates []searchCrate `json:"crates"`
		Meta   struct {
			Total int `json:"total"`
		} `json:"meta"`
	}{Crates: make([]searchCrate, 0, len(crates))}
	out.Meta.Total = total
	for _, c := range crates {
		sc := searchCrate{Name: c.Name, MaxVersion: c.MaxVersion}
		if c.Description != "" {
			d := c.Description
			sc.Description = &d
		}
		out.Crates = append(out.Crates, sc)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func intParam(v string, def int) (int, error) {
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, crated.Errorf(crated.EINVALID, "invalid number %q", v)
	}
	return n, nil
}

// Ktra's password API.

type passwordBody struct {
	Password string `json:"password"`
}

type tokenResponse struct {
	Token string `json:"token"`
}

func (s *Server) passwordAPI() error {
	if !s.cfg.PasswordLogin {
		return crated.Errorf(crated.ENOTFOUND, "password login is disabled on this registry: log in at /me")
	}
	return nil
}

func (s *Server) handleNewUser(w http.ResponseWriter, r *http.Request) error {
	if err := s.passwordAPI(); err != nil {
		return err
	}
	var body passwordBody
	if err := s.decodeJSON(w, r, &body); err != nil {
		return err
	}
	token, err := s.svc.Register(r.Context(), r.PathValue("name"), body.Password)
	if err != nil {
		return err
	}
	s.log.InfoContext(r.Context(), "user registered", "user", r.PathValue("name"))
	writeToken(w, token)
	return nil
}

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) error {
	if err := s.passwordAPI(); err != nil {
		return err
	}
	var body passwordBody
	if err := s.decodeJSON(w, r, &body); err != nil {
		return err
	}
	token, err := s.svc.PasswordLogin(r.Context(), r.PathValue("name"), body.Password)
	if err != nil {
		return err
	}
	writeToken(w, token)
	return nil
}

func (s *Server) handleChangePassword(w http.ResponseWriter, r *http.Request) error {
	if err := s.passwordAPI(); err != nil {
		return err
	}
	var body struct {
		Old string `json:"old_password"`
		New string `json:"new_password"`
	}
	if err := s.decodeJSON(w, r, &body); err != nil {
		return err
	}
	token, err := s.svc.ChangePassword(r.Context(), r.PathValue("name"), body.Old, body.New)
	if err != nil {
		return err
	}
	writeToken(w, token)
	return nil
}

func writeToken(w http.ResponseWriter, token string) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, tokenResponse{Token: token})
}

// limitPublish applies publish_rate_limit per client address and per user:
// a token used from many machines shares one budget.
func (s *Server) limitPublish(r *http.Request, u *crated.User) error {
	l := s.limits.publish
	if err := limited(l, clientKey(s.clientAddr(r)), "publishes from your address"); err != nil {
		return err
	}
	return limited(l, "user:"+strconv.FormatInt(u.ID, 10), "publishes by "+u.Login)
}

package app

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/crated/crated/httpapi"
	"github.com/crated/crated/index/sparse"
	"github.com/crated/crated/static"
)

// staticTimeout bounds one crate's publication to the static tree, which
// runs inside the request that changed the crate.
const staticTimeout = time.Minute

// staticState is the static publication of a running Main
// (server_config.static_dir).
type staticState struct {
	pub *static.Publisher
	// dirty is set when a publication failed: the background loop then
	// syncs the whole tree until it succeeds.
	dirty atomic.Bool
}

// openStatic sets up the static tree, brings it up to date with the store
// (the repair of a crash between a commit and its publication) and
// registers the publication of every later change. It runs before the
// server answers anything.
func (m *Main) openStatic(ctx context.Context) error {
	dir := m.Config.Server.StaticDir
	if dir == "" {
		return nil
	}
	target, err := static.NewDir(dir)
	if err != nil {
		return fmt.Errorf("server_config.static_dir: %w", err)
	}
	st := &staticState{pub: static.New(target, m.Index, m.Store, m.Blobs, m.HTTP.ConfigJSON(), m.Logger)}
	rep, err := st.pub.Sync(ctx, static.SyncOptions{})
	if err != nil {
		return fmt.Errorf("server_config.static_dir: sync %s: %w", dir, err)
	}
	if !rep.Empty() {
		m.Logger.Info("static files brought up to date with the store", "dir", dir,
			"added", len(rep.Added), "changed", len(rep.Changed), "removed", len(rep.Removed))
	}
	m.static = st
	// Registered after the index cache's invalidation: the publication
	// renders the new state. It runs before the change is answered.
	m.Service.OnChange(m.staticChanged)
	return nil
}

// staticChanged publishes one crate's files; on failure the background
// loop resyncs the tree.
func (m *Main) staticChanged(canon string) {
	if m.static == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), staticTimeout)
	defer cancel()
	if err := m.static.pub.Changed(ctx, canon); err != nil {
		m.static.dirty.Store(true)
		m.Logger.Error("could not publish static files; retrying with a full sync", "crate", canon, "err", err)
	}
}

// staticRetry resyncs the tree after a failed publication.
func (m *Main) staticRetry(ctx context.Context) {
	if m.static == nil || !m.static.dirty.Swap(false) {
		return
	}
	if _, err := m.static.pub.Sync(ctx, static.SyncOptions{}); err != nil {
		m.static.dirty.Store(true)
		if ctx.Err() == nil {
			m.Logger.Error("static files are out of date", "dir", m.Config.Server.StaticDir, "err", err)
		}
	}
}

// SyncStatic rewrites the static tree from the store and reports what
// differed (`crated static rebuild`). The stores must be open.
func (m *Main) SyncStatic(ctx context.Context, opt static.SyncOptions) (*static.Report, error) {
	dir := m.Config.Server.StaticDir
	if dir == "" {
		return nil, errors.New("server_config.static_dir is not set: there is no static tree")
	}
	target, err := static.NewDir(dir)
	if err != nil {
		return nil, fmt.Errorf("server_config.static_dir: %w", err)
	}
	svc := m.NewService()
	ix := sparse.New(m.Store, 0)
	h := httpapi.New(svc, ix, m.Blobs, httpapi.Config{BaseURL: m.URL, AuthRequired: m.Config.Server.AuthRequired}, m.Logger)
	return static.New(target, ix, m.Store, m.Blobs, h.ConfigJSON(), m.Logger).Sync(ctx, opt)
}

// NginxOptions derives the nginx configuration of `crated nginx-config`
// from crated's: where crated listens, the tree, the body limit and the
// timeouts.
func (m *Main) NginxOptions(listen, serverName, accessLog, source string) (static.NginxOptions, error) {
	s := m.Config.Server
	if s.StaticDir == "" {
		return static.NginxOptions{}, errors.New("server_config.static_dir is not set: crated publishes no static files for nginx to serve")
	}
	root, err := filepath.Abs(s.StaticDir)
	if err != nil {
		return static.NginxOptions{}, err
	}
	return static.NginxOptions{
		Listen:       listen,
		ServerName:   serverName,
		Upstream:     static.UpstreamAddr(s.Address, s.Port),
		Root:         root,
		AccessLog:    accessLog,
		AuthRequired: s.AuthRequired,
		MaxBody:      s.MaxCrateSize + s.MaxMetadataSize,
		ReadTimeout:  s.ReadTimeout,
		WriteTimeout: s.WriteTimeout,
		Source:       source,
	}, nil
}

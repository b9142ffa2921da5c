package app

import (
	"context"
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/crated/crated/blob/s3"
	"github.com/crated/crated/httpapi"
	"github.com/crated/crated/index/sparse"
	"github.com/crated/crated/static"
)

// staticTimeout bounds one crate's publication to the static trees, which
// runs inside the request that changed the crate.
const staticTimeout = time.Minute

// staticState is the static publication of a running Main
// (server_config.static_dir, crate_files_config.s3_static_prefix).
type staticState struct {
	pubs []*staticPub
	// dirty is set when a publication failed: the background loop then
	// syncs every tree until it succeeds.
	dirty atomic.Bool
	// wake makes the background loop sync at once rather than at its next
	// tick: after a change of everything (a replica's first LISTEN, or a
	// reconnection, when notifications may have been missed).
	wake chan struct{}
}

type staticPub struct {
	*static.Publisher
	where string // for messages: the directory or the bucket prefix
}

// staticTargets returns the configured trees.
func (m *Main) staticTargets() ([]static.Target, []string, error) {
	var (
		targets []static.Target
		where   []string
	)
	if dir := m.Config.Server.StaticDir; dir != "" {
		d, err := static.NewDir(dir)
		if err != nil {
			return nil, nil, fmt.Errorf("server_config.static_dir: %w", err)
		}
		targets, where = append(targets, d), append(where, dir)
	}
	if prefix := m.Config.CrateFiles.S3StaticPrefix; prefix != "" {
		st, ok := m.Blobs.(*s3.Store)
		if !ok {
			return nil, nil, fmt.Errorf("crate_files_config.s3_static_prefix: the crate files are not in S3 (%T)", m.Blobs)
		}
		client, bucket := st.Client()
		prefix = path.Join(m.Config.CrateFiles.S3Prefix, prefix)
		targets, where = append(targets, static.NewBucket(client, bucket, prefix)), append(where, "s3://"+bucket+"/"+prefix)
	}
	return targets, where, nil
}

// openStatic sets up the static trees, brings them up to date with the
// store (the repair of a crash between a commit and its publication) and
// registers the publication of every later change. It runs before the
// server answers anything.
func (m *Main) openStatic(ctx context.Context) error {
	targets, where, err := m.staticTargets()
	if err != nil || len(targets) == 0 {
		return err
	}
	st := &staticState{wake: make(chan struct{}, 1)}
	for i, t := range targets {
		p := &staticPub{static.New(t, m.Index, m.Store, m.Blobs, m.HTTP.ConfigJSON(), m.Logger), where[i]}
		rep, err := p.Sync(ctx, static.SyncOptions{})
		if err != nil {
			return fmt.Errorf("static files: sync %s: %w", p.where, err)
		}
		if !rep.Empty() {
			m.Logger.Info("static files brought up to date with the store", "where", p.where,
				"added", len(rep.Added), "changed", len(rep.Changed), "removed", len(rep.Removed))
		}
		st.pubs = append(st.pubs, p)
	}
	m.static = st
	// Registered after the index cache's invalidation: the publication
	// renders the new state. It runs before the change is answered.
	m.Service.OnChange(m.staticChanged)
	return nil
}

// staticChanged publishes one crate's files; on failure the background
// loop resyncs the trees. An empty canon means everything.
func (m *Main) staticChanged(canon string) {
	if m.static == nil {
		return
	}
	if canon == "" {
		// Anything may have changed: a full sync, on the background
		// loop (it reads the whole store; change hooks must be quick).
		m.static.dirty.Store(true)
		select {
		case m.static.wake <- struct{}{}:
		default:
		}
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), staticTimeout)
	defer cancel()
	for _, p := range m.static.pubs {
		if err := p.Changed(ctx, canon); err != nil {
			m.static.dirty.Store(true)
			m.Logger.Error("could not publish static files; retrying with a full sync", "where", p.where, "crate", canon, "err", err)
		}
	}
}

// staticRetry resyncs the trees after a failed publication.
func (m *Main) staticRetry(ctx context.Context) {
	if m.static == nil || !m.static.dirty.Swap(false) {
		return
	}
	for _, p := range m.static.pubs {
		if _, err := p.Sync(ctx, static.SyncOptions{}); err != nil {
			m.static.dirty.Store(true)
			if ctx.Err() == nil {
				m.Logger.Error("static files are out of date", "where", p.where, "err", err)
			}
		}
	}
}

// SyncStatic rewrites the static trees from the store and reports what
// differed in each (`crated static rebuild`). The stores must be open.
func (m *Main) SyncStatic(ctx context.Context, opt static.SyncOptions, report func(where string, rep *static.Report)) error {
	targets, where, err := m.staticTargets()
	if err != nil {
		return err
	}
	if len(targets) == 0 {
		return errors.New("neither server_config.static_dir nor crate_files_config.s3_static_prefix is set: there is no static tree")
	}
	svc := m.NewService()
	ix := sparse.New(m.Store, 0)
	h := httpapi.New(svc, ix, m.Blobs, httpapi.Config{BaseURL: m.URL, AuthRequired: m.Config.Server.AuthRequired}, m.Logger)
	for i, t := range targets {
		rep, err := static.New(t, ix, m.Store, m.Blobs, h.ConfigJSON(), m.Logger).Sync(ctx, opt)
		if err != nil {
			return fmt.Errorf("%s: %w", where[i], err)
		}
		report(where[i], rep)
	}
	return nil
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

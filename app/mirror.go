package app

import (
	"context"
	"fmt"
	"path"

	"github.com/crated/crated"
	"github.com/crated/crated/blob/fs"
	"github.com/crated/crated/mirror"
)

// NewMirror builds the pull-through mirror of [mirror_config] over the
// opened stores. Its index files go to the metadata store; its .crate files
// to a blob store of their own, so that the private crates' store holds only
// what was published here (and `crated gc` or a migration never mixes them):
// crate_files_config.cache_dir_path with the file-system store (Ktra's
// crates.io cache directory), or the same S3 bucket under the prefix
// "mirror/", shared by every replica.
func (m *Main) NewMirror(ctx context.Context) (*mirror.Mirror, error) {
	cfg := m.Config
	mc := cfg.Mirror
	if mc == nil {
		return nil, fmt.Errorf("mirror_config is not set: there is no mirror")
	}
	st, ok := m.Store.(mirror.Store)
	if !ok {
		return nil, fmt.Errorf("the metadata store %T cannot hold the mirror's cache", m.Store)
	}
	var blobs crated.BlobStore
	var err error
	if cfg.CrateFiles.S3Bucket != "" {
		c := *cfg
		c.CrateFiles.S3Prefix = path.Join(cfg.CrateFiles.S3Prefix, "mirror")
		if blobs, err = openS3(ctx, &c); err != nil {
			return nil, err
		}
	} else if blobs, err = fs.New(cfg.CrateFiles.CacheDirPath); err != nil {
		return nil, fmt.Errorf("crate_files_config.cache_dir_path: %w", err)
	}
	mir, err := mirror.New(mirror.Config{
		Upstream:    mc.UpstreamIndex,
		IndexTTL:    mc.IndexTTL,
		ServeStale:  mc.ServeStaleOnError,
		MinAge:      mc.MinAge,
		Allow:       mc.Allow,
		Deny:        mc.Deny,
		Token:       mc.UpstreamToken,
		Timeout:     mc.UpstreamTimeout,
		Concurrency: mc.UpstreamConcurrency,
	}, st, blobs, m.Logger)
	if err != nil {
		return nil, fmt.Errorf("mirror_config.upstream_index: %w", err)
	}
	return mir, nil
}

// mountMirror serves /mirror/ and /all/ when [mirror_config] is set.
func (m *Main) mountMirror(ctx context.Context) error {
	mir, err := m.NewMirror(ctx)
	if err != nil {
		return err
	}
	m.HTTP.MountMirror(mir, mirror.NewCombined(m.Index, mir))
	m.Logger.Info("mirror enabled", "upstream", m.Config.Mirror.UpstreamIndex,
		"mirror_index", "sparse+"+m.URL+"/mirror/index/", "combined_index", "sparse+"+m.URL+"/all/index/")
	return nil
}

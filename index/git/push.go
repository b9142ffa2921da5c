package gitindex

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/crated/crated"
	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/revlist"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
)

// remoteFor parses the remote URL and builds the credentials for it. Errors
// name the remote without its credentials.
func remoteFor(cfg Config) (*transport.Endpoint, transport.AuthMethod, error) {
	ep, err := transport.NewEndpoint(cfg.RemoteURL)
	if err != nil {
		return nil, nil, crated.Errorf(crated.EINVALID, "git index: the remote URL %s is not a git URL", redactURL(cfg.RemoteURL))
	}
	switch ep.Protocol {
	case "http", "https":
		if cfg.HTTPSUsername == "" && cfg.HTTPSPassword == "" {
			return ep, nil, nil // credentials, if any, are in the URL
		}
		return ep, &githttp.BasicAuth{Username: cfg.HTTPSUsername, Password: cfg.HTTPSPassword}, nil
	case "ssh":
		user := cfg.SSHUsername
		if user == "" {
			user = ep.User
		}
		if user == "" {
			user = "git"
		}
		var auth *gitssh.PublicKeys
		if cfg.SSHPrivateKeyPath == "" {
			// go-git falls back to the SSH agent.
			if cfg.SSHKnownHostsPath == "" {
				return ep, nil, nil
			}
			agent, err := gitssh.NewSSHAgentAuth(user)
			if err != nil {
				return nil, nil, crated.Errorf(crated.EINVALID, "git index: no SSH private key is configured and the SSH agent is not usable: %v", err)
			}
			if agent.HostKeyCallback, err = gitssh.NewKnownHostsCallback(cfg.SSHKnownHostsPath); err != nil {
				return nil, nil, crated.Errorf(crated.EINVALID, "git index: cannot read the known_hosts file %s: %v", cfg.SSHKnownHostsPath, err)
			}
			return ep, agent, nil
		}
		auth, err = gitssh.NewPublicKeysFromFile(user, cfg.SSHPrivateKeyPath, cfg.SSHKeyPassphrase)
		if err != nil {
			// The parser's message never carries the passphrase.
			return nil, nil, crated.Errorf(crated.EINVALID, "git index: cannot use the SSH private key %s (wrong passphrase, or not a private key)", cfg.SSHPrivateKeyPath)
		}
		if cfg.SSHKnownHostsPath != "" {
			if auth.HostKeyCallback, err = gitssh.NewKnownHostsCallback(cfg.SSHKnownHostsPath); err != nil {
				return nil, nil, crated.Errorf(crated.EINVALID, "git index: cannot read the known_hosts file %s: %v", cfg.SSHKnownHostsPath, err)
			}
		}
		return ep, auth, nil
	case "file":
		return ep, nil, nil
	}
	return nil, nil, crated.Errorf(crated.EINVALID, "git index: the remote URL scheme %q is not supported (use https, ssh or a local path)", ep.Protocol)
}

// pushWithRetry pushes the branch, retrying with a growing delay. On
// failure the push stays pending for the next Sync.
func (ix *Index) pushWithRetry(ctx context.Context) error {
	var last error
	delay := ix.cfg.Backoff
	for attempt := 1; attempt <= ix.cfg.PushAttempts; attempt++ {
		if attempt > 1 {
			t := time.NewTimer(delay)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
			delay *= 2
		}
		pctx, cancel := context.WithTimeout(ctx, pushTimeout)
		err := ix.push(pctx)
		cancel()
		if err == nil {
			ix.pushPending = false
			ix.log.Info("git index: pushed", "remote", redactURL(ix.cfg.RemoteURL), "branch", ix.cfg.Branch, "commit", ix.head.String())
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		last = errors.New(ix.scrub(err.Error()))
		ix.log.Warn("git index: push failed", "remote", redactURL(ix.cfg.RemoteURL), "attempt", attempt, "err", last)
	}
	return fmt.Errorf("%w: %v", crated.Errorf(crated.EUNAVAILABLE,
		"git index: could not push to %s; the commit is kept and the next sync pushes again", redactURL(ix.cfg.RemoteURL)), last)
}

// push force-pushes the branch: the remote is a copy of this repository,
// and cargo fetches with +HEAD, so a rewritten remote history is harmless.
func (ix *Index) push(ctx context.Context) error {
	if ix.remote.Protocol == "file" {
		return ix.pushLocal(ctx, ix.remote.Path)
	}
	spec := config.RefSpec("+" + ix.branch.String() + ":" + ix.branch.String())
	remote := gogit.NewRemote(ix.repo.Storer, &config.RemoteConfig{Name: "crated-push", URLs: []string{ix.cfg.RemoteURL}})
	err := remote.PushContext(ctx, &gogit.PushOptions{
		RemoteName: "crated-push",
		RefSpecs:   []config.RefSpec{spec},
		Auth:       ix.auth,
		Force:      true,
	})
	if errors.Is(err, gogit.NoErrAlreadyUpToDate) {
		return nil
	}
	return err
}

// pushLocal pushes to a repository on this machine by copying the missing
// objects and moving its branch, in process: go-git's own file transport
// would run the git-receive-pack program, which crated does not require.
func (ix *Index) pushLocal(ctx context.Context, path string) error {
	dst, err := gogit.PlainOpen(path)
	if err != nil {
		return fmt.Errorf("open the remote repository %s: %w", path, err)
	}
	var have []plumbing.Hash
	if ref, err := dst.Storer.Reference(ix.branch); err == nil {
		if ref.Hash() == ix.head {
			return nil
		}
		have = append(have, ref.Hash())
	}
	src := ix.repo.Storer
	objs, err := revlist.ObjectsWithStorageForIgnores(src, dst.Storer, []plumbing.Hash{ix.head}, have)
	if err != nil {
		return fmt.Errorf("list objects to push: %w", err)
	}
	for _, h := range objs {
		if err := ctx.Err(); err != nil {
			return err
		}
		if dst.Storer.HasEncodedObject(h) == nil {
			continue
		}
		obj, err := src.EncodedObject(plumbing.AnyObject, h)
		if err != nil {
			return fmt.Errorf("read object %s: %w", h, err)
		}
		if _, err := dst.Storer.SetEncodedObject(obj); err != nil {
			return fmt.Errorf("write object %s to the remote: %w", h, err)
		}
	}
	return dst.Storer.SetReference(plumbing.NewHashReference(ix.branch, ix.head))
}

// redactURL hides the password of a URL for logs and messages.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	return u.Redacted()
}

// scrub removes configured secrets from a message.
func (ix *Index) scrub(s string) string {
	for _, secret := range ix.secrets {
		s = strings.ReplaceAll(s, secret, "xxxxx")
	}
	return s
}

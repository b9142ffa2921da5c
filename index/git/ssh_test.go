package gitindex_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"encoding/pem"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crated/crated"
	"github.com/crated/crated/index/git"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// sshGitServer is a minimal SSH server that accepts one client key and runs
// the git-receive-pack program it is asked for, as a git host does.
type sshGitServer struct {
	addr       string
	knownHosts string // a known_hosts file vouching for the server
}

func startSSHGitServer(t *testing.T, clientKey ssh.PublicKey) *sshGitServer {
	t.Helper()
	gitBin := needGit(t)
	_, hostPriv, _ := ed25519.GenerateKey(rand.Reader)
	hostSigner, err := ssh.NewSignerFromKey(hostPriv)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(meta ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if meta.User() == "git" && bytes.Equal(key.Marshal(), clientKey.Marshal()) {
				return nil, nil
			}
			return nil, os.ErrPermission
		},
	}
	cfg.AddHostKey(hostSigner)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go serveSSH(c, cfg, gitBin)
		}
	}()
	kh := filepath.Join(t.TempDir(), "known_hosts")
	line := knownhosts.Line([]string{knownhosts.Normalize(ln.Addr().String())}, hostSigner.PublicKey())
	if err := os.WriteFile(kh, []byte(line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return &sshGitServer{addr: ln.Addr().String(), knownHosts: kh}
}

func serveSSH(c net.Conn, cfg *ssh.ServerConfig, gitBin string) {
	defer c.Close()
	_, chans, reqs, err := ssh.NewServerConn(c, cfg)
	if err != nil {
		return
	}
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		if nc.ChannelType() != "session" {
			nc.Reject(ssh.UnknownChannelType, "sessions only")
			continue
		}
		ch, reqs, err := nc.Accept()
		if err != nil {
			return
		}
		go func() {
			defer ch.Close()
			for req := range reqs {
				if req.Type != "exec" || len(req.Payload) < 4 {
					req.Reply(false, nil)
					continue
				}
				n := binary.BigEndian.Uint32(req.Payload)
				command := string(req.Payload[4 : 4+n])
				prog, path, _ := strings.Cut(command, " ")
				if prog != "git-receive-pack" && prog != "git-upload-pack" {
					req.Reply(false, nil)
					continue
				}
				req.Reply(true, nil)
				cmd := exec.Command(gitBin, strings.TrimPrefix(prog, "git-"), strings.Trim(path, "'"))
				cmd.Stdin, cmd.Stdout, cmd.Stderr = ch, ch, ch.Stderr()
				status := uint32(0)
				if err := cmd.Run(); err != nil {
					status = 1
				}
				ch.SendRequest("exit-status", false, binary.BigEndian.AppendUint32(nil, status))
				return
			}
		}()
	}
}

// writeKey writes an ed25519 private key in OpenSSH format, encrypted with
// passphrase, and returns its public half.
func writeKey(t *testing.T, path, passphrase string) ssh.PublicKey {
	t.Helper()
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	block, err := ssh.MarshalPrivateKeyWithPassphrase(priv, "crated test", []byte(passphrase))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return sshPub
}

func TestPushOverSSH(t *testing.T) {
	st := openStore(t)
	uid := user(t, st)
	publish(t, st, uid, "alpha", "0.1.0")
	keyPath := filepath.Join(t.TempDir(), "id_ed25519")
	const passphrase = "correct horse battery"
	srv := startSSHGitServer(t, writeKey(t, keyPath, passphrase))
	remote := bareRemote(t)
	url := "ssh://git@" + srv.addr + remote
	strangers := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(strangers, nil, 0o600); err != nil {
		t.Fatal(err)
	}

	t.Run("wrong passphrase", func(t *testing.T) {
		cfg := gitindex.Config{Dir: t.TempDir(), ConfigJSON: []byte(testConfigJSON), RemoteURL: url,
			SSHPrivateKeyPath: keyPath, SSHKeyPassphrase: "wrong horse", SSHKnownHostsPath: srv.knownHosts}
		_, err := gitindex.Open(context.Background(), cfg, st, quietLog())
		if !crated.IsCode(err, crated.EINVALID) || strings.Contains(err.Error(), "wrong horse") {
			t.Errorf("Open with a wrong passphrase: %v", err)
		}
	})
	t.Run("unknown host key", func(t *testing.T) {
		ix, _ := openIndex(t, st, func(c *gitindex.Config) {
			c.RemoteURL, c.SSHPrivateKeyPath, c.SSHKeyPassphrase, c.SSHKnownHostsPath = url, keyPath, passphrase, strangers
		})
		err := ix.Sync(context.Background(), nil)
		if !crated.IsCode(err, crated.EUNAVAILABLE) || !strings.Contains(err.Error(), "knownhosts") {
			t.Errorf("push to a host not in known_hosts: %v", err)
		}
	})
	t.Run("key and known host", func(t *testing.T) {
		ix, cfg := openIndex(t, st, func(c *gitindex.Config) {
			c.RemoteURL, c.SSHPrivateKeyPath, c.SSHKeyPassphrase, c.SSHKnownHostsPath = url, keyPath, passphrase, srv.knownHosts
		})
		mustSync(t, ix)
		publish(t, st, uid, "alpha", "0.2.0")
		mustSync(t, ix, "alpha")
		pushed, local := readBranch(t, remote, "main"), readBranch(t, cfg.Dir, "main")
		if pushed.commit != local.commit {
			t.Fatalf("remote at %s, local at %s", pushed.commit, local.commit)
		}
		wantFiles(t, st, pushed, testConfigJSON, "alpha")
	})
}

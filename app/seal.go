package app

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/crated/crated/registry"
)

// sealKeyFile is created in the data directory when no key is configured.
const sealKeyFile = "token-seal.key"

// sealer loads the key that seals re-displayable tokens:
// openid_config.token_seal_key (config reads it from the environment or
// from token_seal_key_file), or else a key file with mode 0600 created
// beside the database. The key never enters the database, so a dump of it
// shows no token.
func (m *Main) sealer() (*registry.Sealer, error) {
	if o := m.Config.OpenID; o != nil && o.TokenSealKey != "" {
		key, err := decodeKey(o.TokenSealKey)
		if err != nil {
			return nil, fmt.Errorf("openid_config.token_seal_key: %w", err)
		}
		return registry.NewSealer(key)
	}
	path := filepath.Join(m.Config.DB.DBDirPath, sealKeyFile)
	key, err := loadOrCreateKey(path)
	if err != nil {
		return nil, fmt.Errorf("token seal key %s: %w", path, err)
	}
	return registry.NewSealer(key)
}

func loadOrCreateKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		return decodeKey(string(b))
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	// O_EXCL: when two processes start at once, one creates and the other
	// reads the winner's key.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		return decodeKey(string(b))
	} else if err != nil {
		return nil, err
	}
	if _, err := f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n"); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, err
	}
	return key, f.Close()
}

// decodeKey accepts 32 bytes as base64 or hex.
func decodeKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if b, err := base64.StdEncoding.DecodeString(s); err == nil && len(b) == 32 {
		return b, nil
	}
	if b, err := hex.DecodeString(s); err == nil && len(b) == 32 {
		return b, nil
	}
	return nil, errors.New("the key must be 32 bytes, base64 or hex encoded (e.g. `openssl rand -base64 32`)")
}

package cargo

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/crated/crated"
)

// wantCode checks that err is nil when code is "", and otherwise a
// *crated.Error (not wrapped) with that code whose message contains msg.
func wantCode(t *testing.T, what string, err error, code, msg string) {
	t.Helper()
	if code == "" {
		if err != nil {
			t.Errorf("%s: unexpected error %v", what, err)
		}
		return
	}
	if err == nil {
		t.Errorf("%s: no error, want %s", what, code)
		return
	}
	e, ok := err.(*crated.Error)
	if !ok {
		t.Errorf("%s: error %T %v is not a *crated.Error", what, err, err)
		return
	}
	if e.Code != code {
		t.Errorf("%s: code %s, want %s (%v)", what, e.Code, code, err)
	}
	if !strings.Contains(e.Message, msg) {
		t.Errorf("%s: message %q does not contain %q", what, e.Message, msg)
	}
}

const (
	invalid  = crated.EINVALID
	tooLarge = crated.ETOOLARGE
)

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

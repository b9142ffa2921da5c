package main

import (
	"strings"
	"testing"
)

// TestAuditCommand: crated audit lists what the operator commands did,
// newest first, says how (operator) and never shows a token value;
// --crate filters; a bad --limit is a usage error.
func TestAuditCommand(t *testing.T) {
	dir := t.TempDir()
	conf := configFile(t, dir, "")
	mustRunCmd(t, "", "migrate", "-c", conf)
	first := strings.TrimSpace(mustRunCmd(t, "", "user", "add", "-c", conf, "alice"))
	rotated := strings.TrimSpace(mustRunCmd(t, "", "token", "rotate", "-c", conf, "alice"))
	out := mustRunCmd(t, "", "audit", "-c", conf)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "TIME") ||
		!strings.Contains(lines[1], "token_replace") || !strings.Contains(lines[1], "alice") || !strings.Contains(lines[1], "operator") {
		t.Errorf("audit:\n%s", out)
	}
	for _, tok := range []string{first, rotated} {
		if strings.Contains(out, tok) || strings.Contains(out, tokenHash(tok)) {
			t.Errorf("audit shows a token or its hash:\n%s", out)
		}
	}
	if out := mustRunCmd(t, "", "audit", "-c", conf, "--limit", "1"); strings.Count(strings.TrimSpace(out), "\n") != 1 {
		t.Errorf("audit --limit 1:\n%s", out)
	}
	if out := mustRunCmd(t, "", "audit", "-c", conf, "--crate", "no-such"); strings.Count(strings.TrimSpace(out), "\n") != 0 {
		t.Errorf("audit --crate no-such:\n%s", out)
	}
	if _, errOut, err := runCmd(t, "", "audit", "-c", conf, "--limit", "many"); err == nil || !strings.Contains(err.Error()+errOut, "usage") {
		t.Errorf("audit --limit many: %v", err)
	}
}

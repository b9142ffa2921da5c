package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// server_config.log_format reaches the logger the command builds.
func TestLogFormat(t *testing.T) {
	for format, isJSON := range map[string]bool{"json": true, "text": false} {
		path := filepath.Join(t.TempDir(), "crated.toml")
		if err := os.WriteFile(path, []byte("[server_config]\nlog_format = \""+format+"\"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		var stderr bytes.Buffer
		m, _, err := load("serve", []string{"-c", path}, &stderr)
		if err != nil {
			t.Fatal(err)
		}
		m.Logger.Info("hello", "err", "boom")
		line := strings.TrimSpace(stderr.String())
		var rec map[string]any
		gotJSON := json.Unmarshal([]byte(line), &rec) == nil
		if gotJSON != isJSON || (isJSON && (rec["msg"] != "hello" || rec["err"] != "boom")) {
			t.Errorf("log_format %s: %q", format, line)
		}
	}
}

package static_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crated/crated/static"
)

// significant returns the lines of an nginx configuration without
// indentation, blank lines and comments.
func significant(conf string) []string {
	var out []string
	for _, l := range strings.Split(conf, "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

// TestDeployNginxMatches: deploy/nginx.conf serves the static tree with the
// very locations `crated nginx-config` prints for a public registry, so
// that the example does not drift from the generator.
func TestDeployNginxMatches(t *testing.T) {
	var gen bytes.Buffer
	err := static.WriteNginx(&gen, static.NginxOptions{
		Listen: "80", Upstream: "127.0.0.1:8000", Root: "/var/lib/crated/static",
		AccessLog: "/var/log/nginx/crated-downloads.log", MaxBody: 11 << 20,
		ReadTimeout: 5 * time.Minute, WriteTimeout: 5 * time.Minute, Source: "test",
	})
	if err != nil {
		t.Fatal(err)
	}
	_, locations, ok := strings.Cut(gen.String(), "\n    root ")
	if !ok {
		t.Fatalf("generated configuration has no root:\n%s", gen.String())
	}
	want := significant("root " + locations)
	want = want[:len(want)-1] // the server block's closing brace
	deploy, err := os.ReadFile(filepath.Join("..", "deploy", "nginx.conf"))
	if err != nil {
		t.Fatal(err)
	}
	have := strings.Join(significant(string(deploy)), "\n")
	if !strings.Contains(have, strings.Join(want, "\n")) {
		t.Errorf("deploy/nginx.conf lacks the generated static locations:\n%s", strings.Join(want, "\n"))
	}
	logFormat := "log_format " + static.DownloadLogName + " '" + static.DownloadLogFormat + "';"
	if !strings.Contains(have, logFormat) || !strings.Contains(gen.String(), logFormat) {
		t.Errorf("the download log format %q is missing from deploy/nginx.conf or the generated configuration", logFormat)
	}
	if !strings.Contains(gen.String(), "client_max_body_size 12m;") {
		t.Errorf("client_max_body_size for 11 MiB of publish: want 12m in\n%s", gen.String())
	}
}

// TestNginxPrivate: a private registry's configuration checks every static
// read with crated and marks the answers private.
func TestNginxPrivate(t *testing.T) {
	var gen bytes.Buffer
	err := static.WriteNginx(&gen, static.NginxOptions{
		Listen: "80", Upstream: "127.0.0.1:8000", Root: "/srv/static", AccessLog: "/tmp/dl.log", AuthRequired: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	conf := gen.String()
	if n := strings.Count(conf, "auth_request /_crated/auth;"); n != 3 {
		t.Errorf("auth_request in %d locations, want the 3 static ones", n)
	}
	if strings.Contains(conf, `"public`) || !strings.Contains(conf, `"private, max-age=31536000, immutable"`) {
		t.Errorf("a private registry's crate files may be cached publicly:\n%s", conf)
	}
	if !strings.Contains(conf, "proxy_read_timeout 86400s;") {
		t.Errorf("write_timeout 0 (no limit) should become a day:\n%s", conf)
	}
	if err := static.WriteNginx(&gen, static.NginxOptions{Listen: "80; include /etc/passwd", Upstream: "x:1", Root: "/r", AccessLog: "/l"}); err == nil {
		t.Error("a value that would inject nginx directives was accepted")
	}
}

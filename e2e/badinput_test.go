package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/crated/crated/config"
	"github.com/crated/crated/internal/testenv"
)

type badRequest struct {
	name   string
	method string
	path   string
	token  string // "" sends no Authorization
	body   []byte
	status int
	detail string // substring of the error detail
}

// do sends one request and returns status and body.
func do(t *testing.T, method, url, token string, body []byte) (int, []byte, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header
}

// bomb is a small gzip that expands to far more than MaxUnpacked.
func bomb(t *testing.T, name, vers string) []byte {
	var buf bytes.Buffer
	gz, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	tw := tar.NewWriter(gz)
	prefix := name + "-" + vers + "/"
	toml := []byte("[package]\nname = \"" + name + "\"\nversion = \"" + vers + "\"\n")
	tw.WriteHeader(&tar.Header{Name: prefix + "Cargo.toml", Mode: 0o644, Size: int64(len(toml)), Typeflag: tar.TypeReg})
	tw.Write(toml)
	const size = 600 << 20
	tw.WriteHeader(&tar.Header{Name: prefix + "zeros", Mode: 0o644, Size: size, Typeflag: tar.TypeReg})
	zeros := make([]byte, 1<<20)
	for i := 0; i < size>>20; i++ {
		tw.Write(zeros)
	}
	tw.Close()
	gz.Close()
	return buf.Bytes()
}

// TestBadInput sends malformed and hostile requests: each must get its 4xx
// with cargo's error body, store nothing, and leave the server healthy.
func TestBadInput(t *testing.T) {
	srv := testenv.StartCrated(t)
	alice := srv.AddUser("alice")
	bob := srv.AddUser("bob")
	pub := "/api/v1/crates/new"

	frame := func(name, vers string, entries ...testenv.Entry) []byte {
		if entries == nil {
			entries = testenv.CrateFiles(name, vers)
		}
		return testenv.Frame(testenv.Metadata(name, vers), testenv.Tarball(t, entries...))
	}
	withMeta := func(edit func(map[string]any)) []byte {
		return testenv.Frame(testenv.Metadata("ok", "1.0.0", edit), testenv.Tarball(t, testenv.CrateFiles("ok", "1.0.0")...))
	}
	lying := func(jsonLen, crateLen uint32) []byte {
		meta := testenv.Metadata("ok", "1.0.0")
		crate := testenv.Tarball(t, testenv.CrateFiles("ok", "1.0.0")...)
		b := binary.LittleEndian.AppendUint32(nil, jsonLen)
		b = append(b, meta...)
		b = binary.LittleEndian.AppendUint32(b, crateLen)
		return append(b, crate...)
	}
	good := frame("ok", "1.0.0")
	p := "ok-1.0.0/"

	cases := []badRequest{
		{"no token", "PUT", pub, "", good, 401, "token"},
		{"wrong token", "PUT", pub, "crated_nope", good, 403, "invalid"},
		{"bearer without token", "PUT", pub, "Bearer ", good, 401, "token"},
		{"empty body", "PUT", pub, alice, nil, 400, ""},
		{"three bytes", "PUT", pub, alice, []byte{1, 2, 3}, 400, ""},
		{"huge json length", "PUT", pub, alice, lying(0xFFFFFFFF, 10), 413, ""},
		{"json length past the end", "PUT", pub, alice, lying(1<<19, 10), 400, "length"},
		{"crate length too long", "PUT", pub, alice, lying(uint32(len(testenv.Metadata("ok", "1.0.0"))), 1<<20), 400, "length"},
		{"crate length too short", "PUT", pub, alice, lying(uint32(len(testenv.Metadata("ok", "1.0.0"))), 5), 400, ""},
		{"trailing bytes", "PUT", pub, alice, append(append([]byte{}, good...), 0, 0, 0), 400, ""},
		{"metadata not json", "PUT", pub, alice, testenv.Frame([]byte("{nope"), testenv.Tarball(t, testenv.CrateFiles("ok", "1.0.0")...)), 400, ""},
		{"name starts with digit", "PUT", pub, alice, frame("1ok", "1.0.0"), 400, "name"},
		{"name with space", "PUT", pub, alice, frame("o k", "1.0.0"), 400, "name"},
		{"name too long", "PUT", pub, alice, frame(strings.Repeat("a", 65), "1.0.0"), 400, "name"},
		{"reserved name", "PUT", pub, alice, frame("Com1", "1.0.0"), 400, "reserved"},
		{"windows device name", "PUT", pub, alice, frame("nul", "1.0.0"), 400, "reserved"},
		{"non-ascii name", "PUT", pub, alice, frame("crâte", "1.0.0"), 400, "name"},
		{"short version", "PUT", pub, alice, frame("ok", "1.0"), 400, "version"},
		{"v-prefixed version", "PUT", pub, alice, frame("ok", "v1.0.0"), 400, "version"},
		{"leading zero version", "PUT", pub, alice, frame("ok", "01.0.0"), 400, "version"},
		{"not gzip", "PUT", pub, alice, testenv.Frame(testenv.Metadata("ok", "1.0.0"), []byte("plain text, not a tarball")), 400, ""},
		{"path traversal", "PUT", pub, alice, frame("ok", "1.0.0", append(testenv.CrateFiles("ok", "1.0.0"), testenv.Entry{Name: p + "../../etc/evil", Body: "x"})...), 400, ""},
		{"absolute path", "PUT", pub, alice, frame("ok", "1.0.0", append(testenv.CrateFiles("ok", "1.0.0"), testenv.Entry{Name: "/etc/evil", Body: "x"})...), 400, ""},
		{"symlink", "PUT", pub, alice, frame("ok", "1.0.0", append(testenv.CrateFiles("ok", "1.0.0"), testenv.Entry{Name: p + "link", Type: tar.TypeSymlink, Linkname: "/etc/passwd"})...), 400, ""},
		{"hard link", "PUT", pub, alice, frame("ok", "1.0.0", append(testenv.CrateFiles("ok", "1.0.0"), testenv.Entry{Name: p + "hard", Type: tar.TypeLink, Linkname: p + "src/lib.rs"})...), 400, ""},
		{"device", "PUT", pub, alice, frame("ok", "1.0.0", append(testenv.CrateFiles("ok", "1.0.0"), testenv.Entry{Name: p + "dev", Type: tar.TypeChar})...), 400, ""},
		{"wrong prefix", "PUT", pub, alice, frame("ok", "1.0.0", testenv.CrateFiles("other", "1.0.0")...), 400, ""},
		{"no Cargo.toml", "PUT", pub, alice, frame("ok", "1.0.0", testenv.Entry{Name: p + "src/lib.rs", Body: "x"}), 400, "Cargo.toml"},
		{"two Cargo.toml", "PUT", pub, alice, frame("ok", "1.0.0", append(testenv.CrateFiles("ok", "1.0.0"), testenv.Entry{Name: p + "CARGO.TOML", Body: "x"})...), 400, "Cargo.toml"},
		{"Cargo.toml names another crate", "PUT", pub, alice, frame("ok", "1.0.0", testenv.Entry{Name: p + "Cargo.toml", Body: "[package]\nname = \"other\"\nversion = \"1.0.0\"\n"}), 400, ""},
		{"Cargo.toml has another version", "PUT", pub, alice, frame("ok", "1.0.0", testenv.Entry{Name: p + "Cargo.toml", Body: "[package]\nname = \"ok\"\nversion = \"2.0.0\"\n"}), 400, ""},
		// Ambiguous archives: what unpacks would depend on the tool, the
		// order of the entries or the file system.
		{"file twice", "PUT", pub, alice, frame("ok", "1.0.0", append(testenv.CrateFiles("ok", "1.0.0"), testenv.Entry{Name: p + "src/lib.rs", Body: "pub fn evil() {}\n"})...), 400, "the file `ok-1.0.0/src/lib.rs` more than once"},
		{"file and directory", "PUT", pub, alice, frame("ok", "1.0.0", append(testenv.CrateFiles("ok", "1.0.0"), testenv.Entry{Name: p + "src/lib.rs/x.rs", Body: ""})...), 400, "inside `src/lib.rs`, which is also a file"},
		{"paths differing in case", "PUT", pub, alice, frame("ok", "1.0.0", append(testenv.CrateFiles("ok", "1.0.0"), testenv.Entry{Name: p + "src/Lib.rs", Body: ""})...), 400, "`ok-1.0.0/src/Lib.rs` and another path that differs from it only in case"},
		{"6 KB path", "PUT", pub, alice, frame("ok", "1.0.0", append(testenv.CrateFiles("ok", "1.0.0"), testenv.Entry{Name: p + strings.Repeat("d/", 3000) + "f.rs", Body: ""})...), 400, "a path longer than 4096 bytes"},
		{"decompression bomb", "PUT", pub, alice, testenv.Frame(testenv.Metadata("ok", "1.0.0"), bomb(t, "ok", "1.0.0")), 413, ""},
		{"star requirement", "PUT", pub, alice, withMeta(func(m map[string]any) {
			m["deps"] = []any{map[string]any{"name": "serde", "version_req": "*", "features": []string{}, "optional": false, "default_features": true, "target": nil, "kind": "normal"}}
		}), 400, ""},
		{"bad requirement", "PUT", pub, alice, withMeta(func(m map[string]any) {
			m["deps"] = []any{map[string]any{"name": "serde", "version_req": ">>1", "features": []string{}, "optional": false, "default_features": true, "target": nil, "kind": "normal"}}
		}), 400, ""},
		{"bad dep kind", "PUT", pub, alice, withMeta(func(m map[string]any) {
			m["deps"] = []any{map[string]any{"name": "serde", "version_req": "^1", "features": []string{}, "optional": false, "default_features": true, "target": nil, "kind": "weird"}}
		}), 400, ""},
		{"bad feature name", "PUT", pub, alice, withMeta(func(m map[string]any) { m["features"] = map[string]any{"bad feature": []string{}} }), 400, ""},
		{"too many keywords", "PUT", pub, alice, withMeta(func(m map[string]any) { m["keywords"] = strings.Fields(strings.Repeat("k ", 101)) }), 400, "keyword"},
		{"metadata says more than Cargo.toml", "PUT", pub, alice, withMeta(func(m map[string]any) { m["links"] = "z" }), 400, "links"},
		{"NUL in the readme", "PUT", pub, alice, withMeta(func(m map[string]any) { m["readme"] = "a\x00b" }), 400, "NUL"},
		{"yank unknown crate", "DELETE", "/api/v1/crates/nope/1.0.0/yank", alice, nil, 404, "nope"},
		{"yank without token", "DELETE", "/api/v1/crates/nope/1.0.0/yank", "", nil, 401, ""},
		{"owners bad json", "PUT", "/api/v1/crates/nope/owners", alice, []byte("{"), 400, "JSON"},
		{"search page not a number", "GET", "/api/v1/crates?q=a&page=x", "", nil, 400, ""},
		{"unknown API path", "GET", "/api/v1/nothing", "", nil, 404, ""},
		{"ktra login wrong password", "POST", "/ktra/api/v1/login/alice", "", []byte(`{"password":"wrong-password"}`), 403, ""},
		{"ktra registration closed", "POST", "/ktra/api/v1/new_user/eve", "", []byte(`{"password":"long-enough-pw"}`), 403, "closed"},
		{"ktra login not json", "POST", "/ktra/api/v1/login/alice", "", []byte(`password=x`), 400, ""},
		{"index path outside the layout", "GET", "/index/zz/zz/nothere", "", nil, 404, ""},
		{"index traversal", "GET", "/index/%2e%2e/%2e%2e/etc/passwd", "", nil, 404, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body, _ := do(t, tc.method, srv.URL+tc.path, tc.token, tc.body)
			if status != tc.status {
				t.Errorf("status %d, want %d; body %s", status, tc.status, body)
			}
			var eb struct {
				Errors []struct{ Detail string } `json:"errors"`
			}
			if err := json.Unmarshal(body, &eb); err != nil || len(eb.Errors) == 0 || eb.Errors[0].Detail == "" {
				t.Fatalf("body is not cargo's error shape: %s", body)
			}
			if !strings.Contains(strings.ToLower(eb.Errors[0].Detail), strings.ToLower(tc.detail)) {
				t.Errorf("detail %q does not mention %q", eb.Errors[0].Detail, tc.detail)
			}
			if tc.token != "" && strings.Contains(string(body), tc.token) {
				t.Errorf("the token is echoed in the response")
			}
		})
	}

	// Nothing was stored, and nothing is left in the blob store.
	crates, versions, err := srv.Store.CountCrates(context.Background())
	if err != nil || crates != 0 || versions != 0 {
		t.Fatalf("after bad input the store holds %d crates, %d versions (err %v)", crates, versions, err)
	}
	n := 0
	srv.Blobs.Walk(context.Background(), func(string) error { n++; return nil })
	if n != 0 {
		t.Errorf("after bad input the blob store holds %d files", n)
	}

	// The server is healthy: the good frame publishes, a duplicate is a 409,
	// and someone else's publish is a 403.
	if status, body, _ := do(t, "PUT", srv.URL+pub, alice, good); status != 200 {
		t.Fatalf("valid publish after bad input: %d %s", status, body)
	}
	if status, body, _ := do(t, "PUT", srv.URL+pub, alice, good); status != 409 || !strings.Contains(string(body), "already") {
		t.Errorf("duplicate publish: %d %s", status, body)
	}
	plusBuild := frame("ok", "1.0.0+build.1")
	if status, body, _ := do(t, "PUT", srv.URL+pub, alice, plusBuild); status != 409 {
		t.Errorf("same version with build metadata: %d %s", status, body)
	}
	if status, body, _ := do(t, "PUT", srv.URL+pub, bob, frame("ok", "1.0.1")); status != 403 {
		t.Errorf("publish by a non-owner: %d %s", status, body)
	}
	if status, _, _ := do(t, "GET", srv.URL+"/healthz", "", nil); status != 200 {
		t.Errorf("healthz: %d", status)
	}
}

// TestOversizedBody checks the size limit is applied before the body is
// read.
func TestOversizedBody(t *testing.T) {
	srv := testenv.StartCrated(t, func(c *config.Config) { c.Server.MaxCrateSize = 1024 })
	alice := srv.AddUser("alice")
	big := testenv.Frame(testenv.Metadata("big", "1.0.0"), bytes.Repeat([]byte{1}, 4096))
	status, body, _ := do(t, "PUT", srv.URL+"/api/v1/crates/new", alice, big)
	if status != 413 || !strings.Contains(string(body), "max upload size") {
		t.Errorf("oversized publish: %d %s", status, body)
	}
}

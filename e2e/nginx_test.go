package e2e

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/crated/crated/config"
	"github.com/crated/crated/internal/testenv"
)

// nginxBinary finds nginx on PATH or where Debian installs it.
func nginxBinary(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("nginx"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/nginx"); err == nil {
		return "/usr/sbin/nginx"
	}
	testenv.Need(t, "nginx (apt-get install nginx-light)")
	return ""
}

// freePort returns a loopback port that nothing listened on a moment ago.
// The replicas need known ports: their base_url is nginx's, so port 0
// cannot be used.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// selfSignedCert writes a certificate for 127.0.0.1 and its key, and
// returns their paths and a pool that trusts the certificate.
func selfSignedCert(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "crated e2e"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := os.WriteFile(certFile, certPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	return certFile, keyFile, pool
}

// renderNginx turns deploy/nginx.conf into a configuration for this
// machine: the replicas' and nginx's loopback addresses, the test
// certificate, and temp and log paths inside dir. Every replacement must
// match, so that the test notices when the example changes shape.
func renderNginx(t *testing.T, dir string, replicas []int, httpPort, httpsPort int, cert, key string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "deploy", "nginx.conf"))
	if err != nil {
		t.Fatal(err)
	}
	conf := string(b)
	for _, dir := range []string{"body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		if err := os.Mkdir(filepath.Join(filepath.Dir(cert), dir), 0o777); err != nil {
			t.Fatal(err)
		}
	}
	temp := fmt.Sprintf(`http {
    client_body_temp_path %[1]s/body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;`, filepath.Dir(cert))
	for _, r := range []struct{ old, new string }{
		{"server crated-1:8000 ", fmt.Sprintf("server 127.0.0.1:%d ", replicas[0])},
		{"server crated-2:8000 ", fmt.Sprintf("server 127.0.0.1:%d ", replicas[1])},
		{"listen 80;", fmt.Sprintf("listen 127.0.0.1:%d;", httpPort)},
		{"listen 443 ssl http2;", fmt.Sprintf("listen 127.0.0.1:%d ssl http2;", httpsPort)},
		{"/etc/nginx/tls/crates.example.com.crt", cert},
		{"/etc/nginx/tls/crates.example.com.key", key},
		{"http {", temp},
	} {
		if strings.Count(conf, r.old) != 1 {
			t.Fatalf("deploy/nginx.conf: %q occurs %d times, want once", r.old, strings.Count(conf, r.old))
		}
		conf = strings.Replace(conf, r.old, r.new, 1)
	}
	file := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(file, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// startNginx checks and starts nginx with conf in the foreground, and stops
// it when the test ends.
func startNginx(t *testing.T, bin, dir, conf string, port int) {
	t.Helper()
	global := fmt.Sprintf("daemon off; pid %s/nginx.pid; error_log %s/error.log;", dir, dir)
	if os.Geteuid() == 0 {
		// Workers would otherwise run as nobody, who cannot write the
		// test's temp directories.
		global += " user root;"
	}
	args := []string{"-p", dir, "-c", conf, "-g", global}
	if out, err := exec.Command(bin, append([]string{"-t"}, args...)...).CombinedOutput(); err != nil {
		t.Fatalf("nginx -t: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGQUIT) // graceful stop
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Logf("nginx output:\n%s\nerror.log:\n%s", out.String(), log)
		}
	})
	// Wait until nginx accepts connections; the bound only ends a test
	// whose nginx never comes up.
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Fatalf("nginx does not accept connections on port %d: %v\n%s\n%s", port, err, out.String(), log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// requestCount sums crated_http_requests_total of one replica.
func requestCount(t *testing.T, port int) float64 {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", port))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var sum float64
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, "crated_http_requests_total{") {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err == nil {
			sum += v
		}
	}
	return sum
}

// TestNginx runs deploy/nginx.conf in front of two replicas and drives
// cargo through it over TLS: publish, build a consumer, a publish near the
// size limit and one over it.
func TestNginx(t *testing.T) {
	bin := nginxBinary(t)
	cl := newCluster(t)
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	certFile, keyFile, pool := selfSignedCert(t, dir)
	replicaPorts := []int{freePort(t), freePort(t)}
	httpPort, httpsPort := freePort(t), freePort(t)
	base := fmt.Sprintf("https://127.0.0.1:%d", httpsPort)

	var replicas []*testenv.Crated
	for _, p := range replicaPorts {
		replicas = append(replicas, cl.replica(t, func(c *config.Config) {
			c.Server.Port = p
			c.Server.BaseURL = base
		}))
	}
	conf := renderNginx(t, dir, replicaPorts, httpPort, httpsPort, certFile, keyFile)
	startNginx(t, bin, dir, conf, httpsPort)

	client := &http.Client{
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	// Plain HTTP redirects to https.
	resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/index/config.json", httpPort))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMovedPermanently || !strings.HasPrefix(resp.Header.Get("Location"), "https://") {
		t.Errorf("plain HTTP: %d %q, want a redirect to https", resp.StatusCode, resp.Header.Get("Location"))
	}
	// config.json names nginx's URL, whichever replica answers.
	var cfg struct{ DL, API string }
	resp, err = client.Get(base + "/index/config.json")
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&cfg)
	resp.Body.Close()
	if !strings.HasPrefix(cfg.DL, base+"/") || cfg.API != base {
		t.Errorf("config.json through nginx: %+v, want URLs under %s", cfg, base)
	}

	alice := replicas[0].AddUser("alice")
	c := testenv.NewCargo(t, "sparse+"+base+"/index/", "")
	c.Env = []string{"CARGO_HTTP_CAINFO=" + certFile}
	publish(t, c, testenv.Package(t, alphaToml, nil), alice)
	consumer := testenv.Package(t, alphaConsumerToml, map[string]string{"src/main.rs": alphaConsumerMain})
	if out := c.MustRun(consumer, "run", "-q"); strings.TrimSpace(out) != "alpha=1" {
		t.Errorf("consumer through nginx: %q", out)
	}
	out := c.MustRun(consumer, "search", "--registry", "crated", "alpha")
	if !strings.Contains(out, `alpha = "0.1.0"`) {
		t.Errorf("search through nginx: %s", out)
	}

	// The round robin reached both replicas.
	for i, p := range replicaPorts {
		if n := requestCount(t, p); n == 0 {
			t.Errorf("replica %d served no request through nginx", i)
		}
	}

	// A publish just under max_crate_size passes nginx (streamed); one
	// over it is refused by crated, with cargo's JSON error, not nginx's
	// HTML page.
	random := func(n int) string {
		b := make([]byte, n)
		rand.Read(b)
		return fmt.Sprintf("%x", b) // hex: gzip halves it at best
	}
	big := func(vers string, hexBytes int) []byte {
		files := append(testenv.CrateFiles("big", vers), testenv.Entry{Name: "big-" + vers + "/data.txt", Body: random(hexBytes / 2)})
		return testenv.Frame(testenv.Metadata("big", vers), testenv.Tarball(t, files...))
	}
	for _, tc := range []struct {
		vers   string
		hex    int
		status int
	}{
		{"1.0.0", 16 << 20, 200}, // about 9 MiB gzipped
		{"2.0.0", 20 << 20, 413}, // about 11 MiB gzipped
	} {
		frame := big(tc.vers, tc.hex)
		req, _ := http.NewRequestWithContext(context.Background(), "PUT", base+"/api/v1/crates/new", bytes.NewReader(frame))
		req.Header.Set("Authorization", alice)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("publish of a %d-byte frame: %d %.200s, want %d", len(frame), resp.StatusCode, body, tc.status)
		}
		var e struct {
			Errors []struct{ Detail string } `json:"errors"`
		}
		if tc.status != 200 && (json.Unmarshal(body, &e) != nil || len(e.Errors) == 0) {
			t.Errorf("refused publish: the body is not cargo's JSON error: %.200s", body)
		}
	}
}

// TestDeployReplicaConfig loads deploy/replica.toml, as shipped and with its
// OpenID section switched on, with its secret files in a temp dir.
func TestDeployReplicaConfig(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "deploy", "replica.toml"))
	if err != nil {
		t.Fatal(err)
	}
	secrets := t.TempDir()
	for name, value := range map[string]string{
		"crated-postgres-url":       "postgres://crated:pw@db.example.com:5432/crated?sslmode=verify-full",
		"crated-s3-access-key":      "AKIAEXAMPLE",
		"crated-s3-secret-key":      "secret-example",
		"crated-oidc-client-secret": "client-secret-example",
		"crated-token-seal-key":     strings.Repeat("ab", 32),
	} {
		if err := os.WriteFile(filepath.Join(secrets, name), []byte(value+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	shipped := strings.ReplaceAll(string(b), "/run/secrets/", secrets+"/")
	before, section, ok := strings.Cut(shipped, "# [openid_config]")
	if !ok {
		t.Fatal("deploy/replica.toml has no commented [openid_config] section")
	}
	withOpenID := before + "[openid_config]" + strings.ReplaceAll(section, "\n# ", "\n")

	for _, tc := range []struct {
		name, toml string
		openID     bool
	}{{"as shipped", shipped, false}, {"with OpenID", withOpenID, true}} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "replica.toml")
			if err := os.WriteFile(file, []byte(tc.toml), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg, err := config.Load(file, []string{}, nil)
			if err != nil {
				t.Fatalf("config.Load: %v", err)
			}
			if cfg.DB.PostgresURL == "" || cfg.CrateFiles.S3SecretKey != "secret-example" || !cfg.CrateFiles.S3RedirectDownloads ||
				cfg.Server.BaseURL != "https://crates.example.com" || cfg.Server.Port != 8000 {
				t.Errorf("loaded %+v %+v %+v", cfg.Server, cfg.DB.PostgresURL != "", cfg.CrateFiles)
			}
			if (cfg.OpenID != nil) != tc.openID {
				t.Fatalf("openid_config present: %v, want %v", cfg.OpenID != nil, tc.openID)
			}
			if tc.openID && (cfg.OpenID.TokenSealKeyFile == "" || cfg.OpenID.ClientSecret != "client-secret-example") {
				t.Errorf("openid_config: %+v", cfg.OpenID)
			}
		})
	}
}

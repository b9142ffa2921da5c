package e2e

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/crated/crated/internal/testenv"
)

// TestMirrorReplicas runs two mirroring replicas on one PostgreSQL database
// and one bucket: what one fetched, the other serves with the upstream gone
// (index files in the database, .crate files in the bucket under mirror/),
// and a private crate published through one replica shadows the upstream's
// entry in the other's /all/ index, which had already served it.
func TestMirrorReplicas(t *testing.T) {
	cl := newCluster(t)
	up := testenv.StartCrated(t)
	upToken := up.AddUser("upstream")
	mustPublish(t, up, upToken, "leftpad", "1.0.0")
	mustPublish(t, up, upToken, "dupe", "1.0.0")
	a := cl.replica(t, mirrorOf(up))
	b := cl.replica(t, mirrorOf(up))
	token := a.AddUser("alice")
	waitListening(t, a, b, token)

	// b serves the upstream's dupe in /all/ (and caches it).
	if code, body := get(t, b.URL+"/all/index/du/pe/dupe"); code != 200 || !strings.Contains(string(body), `"vers":"1.0.0"`) {
		t.Fatalf("b /all/ dupe: %d %s", code, body)
	}
	// a fetches leftpad's file and .crate.
	code, crate := get(t, a.URL+"/mirror/dl/leftpad/1.0.0/download")
	if code != 200 {
		t.Fatalf("a download: %d %s", code, crate)
	}
	// The .crate is in the bucket under the mirror prefix, not beside the
	// private crates.
	mc, err := minio.New(strings.TrimPrefix(strings.TrimPrefix(cl.endpoint, "http://"), "https://"), &minio.Options{
		Creds: credentials.NewStaticV4(cl.access, cl.secret, ""), Secure: strings.HasPrefix(cl.endpoint, "https://")})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for obj := range mc.ListObjectsIter(context.Background(), cl.bucket, minio.ListObjectsOptions{Prefix: "mirror/", Recursive: true}) {
		if obj.Err != nil {
			t.Fatal(obj.Err)
		}
		keys = append(keys, obj.Key)
	}
	if len(keys) != 1 || !strings.HasPrefix(keys[0], "mirror/crates/sha256/") {
		t.Errorf("mirror objects in the bucket: %v, want one under mirror/crates/sha256/", keys)
	}

	up.Stop()
	// b has never fetched leftpad: the shared cache serves it.
	if code, body := get(t, b.URL+"/mirror/index/le/ft/leftpad"); code != 200 || !strings.Contains(string(body), `"vers":"1.0.0"`) {
		t.Errorf("b index file from the shared cache: %d %s", code, body)
	}
	if code, body := get(t, b.URL+"/mirror/dl/leftpad/1.0.0/download"); code != 200 || !bytes.Equal(body, crate) {
		t.Errorf("b download from the shared cache: %d, %d bytes", code, len(body))
	}

	// A private dupe published through a: b's /all/ drops the upstream's.
	mustPublish(t, a, token, "dupe", "0.5.0")
	eventually(t, func() string {
		code, body := get(t, b.URL+"/all/index/du/pe/dupe")
		if code != 200 || strings.Contains(string(body), `"vers":"1.0.0"`) || !strings.Contains(string(body), `"vers":"0.5.0"`) {
			return fmt.Sprintf("b /all/ dupe after a private publish through a: %d %s", code, body)
		}
		return ""
	})
}

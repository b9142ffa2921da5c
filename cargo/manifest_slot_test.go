package cargo

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestLargeManifestsParseOneAtATime: while one large manifest holds the
// slot, another waits for it, and small manifests do not wait at all.
func TestLargeManifestsParseOneAtATime(t *testing.T) {
	var b strings.Builder
	b.WriteString("[package]\nname = \"big\"\nversion = \"1.0.0\"\n[features]\n")
	for i := 0; b.Len() <= largeManifest; i++ {
		fmt.Fprintf(&b, "f%06d = []\n", i)
	}
	large := []byte(b.String())

	largeManifestSlot <- struct{}{} // as if another large parse were running
	held := true
	defer func() {
		if held {
			<-largeManifestSlot
		}
	}()
	done := make(chan error, 1)
	go func() {
		_, err := parseManifest(large)
		done <- err
	}()
	if _, err := parseManifest([]byte("[package]\nname = \"small\"\nversion = \"1.0.0\"\n")); err != nil {
		t.Fatalf("small manifest: %v", err)
	}
	select {
	case <-done:
		t.Fatal("a large manifest was parsed while another held the slot")
	case <-time.After(500 * time.Millisecond):
	}
	<-largeManifestSlot
	held = false
	if err := <-done; err != nil {
		t.Fatalf("large manifest: %v", err)
	}
}

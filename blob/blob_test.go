package blob_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/crated/crated"
	"github.com/crated/crated/blob"
)

func key(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func TestValidKey(t *testing.T) {
	k := key([]byte("x"))
	tests := []struct {
		key  string
		want bool
	}{
		{k, true},
		{strings.Repeat("0", 64), true},
		{strings.Repeat("f", 64), true},
		{"", false},
		{k[:63], false},
		{k + "0", false},
		{strings.ToUpper(k), false},
		{"../" + k[3:], false},
		{k[:62] + "/x", false},
		{"g" + k[1:], false},
	}
	for _, tt := range tests {
		if got := blob.ValidKey(tt.key); got != tt.want {
			t.Errorf("ValidKey(%q) = %v, want %v", tt.key, got, tt.want)
		}
		if err := blob.CheckKey(tt.key); (err == nil) != tt.want || (err != nil && crated.ErrorCode(err) != crated.EINVALID) {
			t.Errorf("CheckKey(%q) = %v", tt.key, err)
		}
	}
}

// readers are the two ways a consumer takes content from a Verifier: Read
// (io.ReadAll), and WriteTo, which io.Copy prefers (a file's Put uses it).
var readers = []struct {
	name string
	read func(*blob.Verifier) ([]byte, error)
}{
	{"Read", func(v *blob.Verifier) ([]byte, error) { return io.ReadAll(v) }},
	{"WriteTo", func(v *blob.Verifier) ([]byte, error) {
		var b bytes.Buffer
		_, err := io.Copy(&b, v)
		return b.Bytes(), err
	}},
}

// wrap returns the ways a source may deliver content.
var sources = []struct {
	name string
	wrap func(io.Reader) io.Reader
}{
	{"plain", func(r io.Reader) io.Reader { return r }},
	{"one byte at a time", iotest.OneByteReader},
	{"half reads", iotest.HalfReader},
	{"data with EOF", iotest.DataErrReader},
}

func TestVerifierGoodContent(t *testing.T) {
	for _, content := range [][]byte{{}, {7}, []byte("hello"), bytes.Repeat([]byte("0123456789abcdef"), 10000)} {
		for _, src := range sources {
			for _, size := range []int64{int64(len(content)), -1} {
				v := blob.NewVerifier(src.wrap(bytes.NewReader(content)), key(content), size)
				if err := iotest.TestReader(v, content); err != nil {
					t.Errorf("%d bytes, %s, size %d: %v", len(content), src.name, size, err)
				}
				if !v.Done() || v.Err() != nil || v.N() != int64(len(content)) {
					t.Errorf("%d bytes, %s, size %d: Done %v, Err %v, N %d", len(content), src.name, size, v.Done(), v.Err(), v.N())
				}
				v = blob.NewVerifier(src.wrap(bytes.NewReader(content)), key(content), size)
				if got, err := readers[1].read(v); err != nil || !bytes.Equal(got, content) {
					t.Errorf("%d bytes, %s, size %d, WriteTo: got %d bytes, error %v", len(content), src.name, size, len(got), err)
				}
			}
		}
	}
}

// Wrong content never gets through whole: the reader fails before it hands
// out the last byte.
func TestVerifierWithholdsWrongContent(t *testing.T) {
	content := bytes.Repeat([]byte("crate"), 20000)
	tests := []struct {
		name string
		key  string
		size int64
	}{
		{"wrong key", key([]byte("other")), int64(len(content))},
		{"wrong key, unknown size", key([]byte("other")), -1},
		{"declared size too small", key(content), int64(len(content)) - 1},
		{"declared size too large", key(content), int64(len(content)) + 1},
		{"declared size zero", key(content), 0},
	}
	for _, tt := range tests {
		for _, src := range sources {
			for _, rd := range readers {
				v := blob.NewVerifier(src.wrap(bytes.NewReader(content)), tt.key, tt.size)
				got, err := rd.read(v)
				if crated.ErrorCode(err) != crated.EINVALID {
					t.Errorf("%s, %s, %s: error %v, want code %s", tt.name, src.name, rd.name, err, crated.EINVALID)
				}
				if len(got) >= len(content) {
					t.Errorf("%s, %s, %s: handed out %d of %d bytes", tt.name, src.name, rd.name, len(got), len(content))
				}
				if v.Done() || crated.ErrorCode(v.Err()) != crated.EINVALID {
					t.Errorf("%s, %s, %s: Done %v, Err %v", tt.name, src.name, rd.name, v.Done(), v.Err())
				}
				if _, err := v.Read(make([]byte, 10)); crated.ErrorCode(err) != crated.EINVALID {
					t.Errorf("%s, %s, %s: error is not sticky: %v", tt.name, src.name, rd.name, err)
				}
			}
		}
	}
}

func TestVerifierSourceError(t *testing.T) {
	content := []byte("partial content")
	boom := errors.New("boom")
	r := io.MultiReader(bytes.NewReader(content[:5]), iotest.ErrReader(boom))
	v := blob.NewVerifier(r, key(content), int64(len(content)))
	got, err := io.ReadAll(v)
	if !errors.Is(err, boom) {
		t.Errorf("error %v, want the source's", err)
	}
	if len(got) >= 5 {
		t.Errorf("handed out %d bytes, want fewer than the 5 read", len(got))
	}
	if err := v.Drain(); !errors.Is(err, boom) {
		t.Errorf("Drain after the failure = %v, want the source's error", err)
	}
}

// onlyWrites hides a writer's ReadFrom, as a file's is hidden from io.Copy
// when the source has WriteTo.
type onlyWrites struct{ io.Writer }

// Copying a Verifier to a file needs no buffer beyond the Verifier's own:
// io.Copy uses its WriteTo.
func TestVerifierCopyAllocatesOneBuffer(t *testing.T) {
	content := bytes.Repeat([]byte("crate"), 20<<10) // 100 KiB
	k := key(content)
	const runs = 20
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range runs {
		v := blob.NewVerifier(bytes.NewReader(content), k, int64(len(content)))
		if _, err := io.Copy(onlyWrites{io.Discard}, v); err != nil {
			t.Fatal(err)
		}
	}
	runtime.ReadMemStats(&after)
	// The Verifier's 32 KiB buffer and a little; a second buffer from
	// io.Copy would make it 64 KiB.
	if per := (after.TotalAlloc - before.TotalAlloc) / runs; per > 48<<10 {
		t.Errorf("copying a Verifier allocated %d bytes per copy", per)
	}
}

// shortWriter accepts half of what it is given and no error.
type shortWriter struct{ n int }

func (w *shortWriter) Write(p []byte) (int, error) {
	w.n += len(p) / 2
	return len(p) / 2, nil
}

func TestVerifierWriteToShortWrite(t *testing.T) {
	content := []byte("some crate content")
	v := blob.NewVerifier(bytes.NewReader(content), key(content), int64(len(content)))
	if _, err := v.WriteTo(&shortWriter{}); !errors.Is(err, io.ErrShortWrite) {
		t.Errorf("error %v, want io.ErrShortWrite", err)
	}
}

type stuckReader struct{}

func (stuckReader) Read([]byte) (int, error) { return 0, nil }

func TestVerifierNoProgress(t *testing.T) {
	v := blob.NewVerifier(stuckReader{}, key(nil), -1)
	if _, err := io.ReadAll(v); !errors.Is(err, io.ErrNoProgress) {
		t.Errorf("error %v, want io.ErrNoProgress", err)
	}
}

// chunkReader returns content in chunks whose sizes cycle through sizes.
type chunkReader struct {
	b     []byte
	sizes []byte
	i     int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.b) == 0 {
		return 0, io.EOF
	}
	n := 1 + int(c.sizes[c.i%len(c.sizes)])
	c.i++
	n = min(n, len(p), len(c.b))
	copy(p, c.b[:n])
	c.b = c.b[n:]
	return n, nil
}

// Whatever the content and however the source cuts it, a Verifier hands out
// the whole content when the key and size are right, and never all of it
// otherwise.
func FuzzVerifier(f *testing.F) {
	f.Add([]byte("hello"), []byte{0}, true, int64(-1))
	f.Add([]byte("hello"), []byte{3, 200}, false, int64(5))
	f.Add([]byte{}, []byte{1}, true, int64(0))
	f.Fuzz(func(t *testing.T, content, sizes []byte, rightKey bool, size int64) {
		if len(sizes) == 0 {
			sizes = []byte{255}
		}
		k := key(content)
		if !rightKey {
			k = key(append([]byte("not "), content...))
		}
		for _, rd := range readers {
			v := blob.NewVerifier(&chunkReader{b: content, sizes: sizes}, k, size)
			got, err := rd.read(v)
			ok := rightKey && (size < 0 || size == int64(len(content)))
			if ok {
				if err != nil || !bytes.Equal(got, content) {
					t.Fatalf("%s, valid content: got %d of %d bytes, error %v", rd.name, len(got), len(content), err)
				}
				continue
			}
			if crated.ErrorCode(err) != crated.EINVALID {
				t.Fatalf("%s, invalid content: error %v, want code %s", rd.name, err, crated.EINVALID)
			}
			if len(content) > 0 && len(got) >= len(content) {
				t.Fatalf("%s, invalid content: handed out %d of %d bytes", rd.name, len(got), len(content))
			}
			if !bytes.Equal(got, content[:len(got)]) {
				t.Fatalf("%s: handed out bytes that differ from the content", rd.name)
			}
		}
	})
}

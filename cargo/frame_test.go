package cargo

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"testing/iotest"
)

func frame(meta, crate []byte) []byte {
	var b []byte
	b = binary.LittleEndian.AppendUint32(b, uint32(len(meta)))
	b = append(b, meta...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(crate)))
	return append(b, crate...)
}

func u32(n uint32) []byte { return binary.LittleEndian.AppendUint32(nil, n) }

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func TestReadFrame(t *testing.T) {
	lim := DefaultLimits()
	lim.MaxMetadata, lim.MaxCrate = 100, 1000
	meta, crate := []byte(`{"name":"x"}`), bytes.Repeat([]byte{0xAB}, 700)
	for _, tc := range []struct {
		name      string
		body      []byte
		code, msg string
	}{
		{"ok", frame(meta, crate), "", ""},
		{"ok empty parts", frame(nil, nil), "", ""},
		{"ok at limits", frame(make([]byte, 100), make([]byte, 1000)), "", ""},
		{"empty body", nil, invalid, "invalid metadata length"},
		{"short json length", []byte{1, 0}, invalid, "invalid metadata length"},
		{"json length lies", cat(u32(50), meta), invalid, "invalid metadata length for remaining payload: 12"},
		{"json too large", cat(u32(101), meta), tooLarge, "JSON metadata blob too large"},
		{"json length huge", cat(u32(0xFFFFFFFF)), tooLarge, "JSON metadata blob too large"},
		{"no tarball length", cat(u32(12), meta), invalid, "invalid tarball length"},
		{"short tarball length", cat(u32(12), meta, []byte{5}), invalid, "invalid tarball length"},
		{"tarball length lies", cat(u32(12), meta, u32(900), crate), invalid, "invalid tarball length for remaining payload: 700"},
		{"tarball too large", cat(u32(12), meta, u32(1001), crate), tooLarge, "max upload size is: 1000"},
		{"tarball length huge", cat(u32(12), meta, u32(0xFFFFFFFF)), tooLarge, "max upload size is: 1000"},
		{"trailing byte", append(frame(meta, crate), 0), invalid, "unexpected data after the tarball"},
		{"trailing frame", append(frame(meta, crate), frame(meta, crate)...), invalid, "unexpected data after the tarball"},
		{"json length short", cat(u32(5), meta, u32(700), crate), tooLarge, "max upload size is: 1000"},
	} {
		for _, rd := range []struct {
			name string
			r    func([]byte) io.Reader
		}{
			{"bytes", func(b []byte) io.Reader { return bytes.NewReader(b) }},
			{"onebyte", func(b []byte) io.Reader { return iotest.OneByteReader(bytes.NewReader(b)) }},
			{"dataerr", func(b []byte) io.Reader { return iotest.DataErrReader(bytes.NewReader(b)) }},
			{"taker", func(b []byte) io.Reader { return &takeReader{bytes.NewBuffer(b)} }},
		} {
			m, c, err := ReadFrame(rd.r(tc.body), lim)
			wantCode(t, tc.name+"/"+rd.name, err, tc.code, tc.msg)
			if err == nil && !bytes.Equal(frame(m, c), tc.body) {
				t.Errorf("%s/%s: parts do not reassemble into the body", tc.name, rd.name)
			}
		}
	}
}

// takeReader hands its bytes over without a copy, as the HTTP layer's
// spooled body does.
type takeReader struct{ *bytes.Buffer }

func (r *takeReader) Take(n int) []byte {
	if r.Len() < n {
		return nil
	}
	return r.Next(n)
}

// The tarball is taken from a taker's memory, not copied.
func TestReadFrameTakes(t *testing.T) {
	body := frame([]byte(`{"name":"x"}`), bytes.Repeat([]byte{0xAB}, 700))
	_, c, err := ReadFrame(&takeReader{bytes.NewBuffer(body)}, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if &c[0] != &body[len(body)-700] {
		t.Error("the tarball was copied out of the taker's memory")
	}
}

// A reader error that is not EOF is passed through for the caller to map
// (an HTTP body-size limit, a closed connection).
func TestReadFrameReaderError(t *testing.T) {
	boom := errors.New("boom")
	body := frame([]byte("{}"), []byte("crate"))
	for n := 0; n <= len(body); n++ {
		r := io.MultiReader(bytes.NewReader(body[:n]), iotest.ErrReader(boom))
		_, _, err := ReadFrame(r, DefaultLimits())
		if !errors.Is(err, boom) {
			t.Errorf("cut at %d: err = %v, want boom", n, err)
		}
	}
}

// Lengths are never trusted: announcing the maximum and sending nothing
// must not allocate the maximum.
func TestReadFrameDoesNotTrustLengths(t *testing.T) {
	body := cat(u32(10), []byte("0123456789"), u32(DefaultMaxCrate))
	var ms1, ms2 = new(memStats), new(memStats)
	ms1.read()
	// A reader without Len, like an HTTP body.
	_, _, err := ReadFrame(struct{ io.Reader }{bytes.NewReader(body)}, DefaultLimits())
	ms2.read()
	wantCode(t, "lying crate length", err, invalid, "invalid tarball length for remaining payload: 0")
	if grew := ms2.total - ms1.total; grew > 1<<20 {
		t.Errorf("ReadFrame allocated %d bytes for an 18-byte body", grew)
	}
}

func TestReadFrameRealPublish(t *testing.T) {
	body, err := os.ReadFile("testdata/publish-frame.bin")
	if err != nil {
		t.Fatal(err)
	}
	meta, crate, err := ReadFrame(bytes.NewReader(body), DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(meta), `{"name":"tiny-crate"`) || len(crate) != 1549 {
		t.Errorf("unexpected split: %d bytes of metadata, %d of crate", len(meta), len(crate))
	}
}

// TestCrateTooLarge: the message names the setting and the limit in units a
// person reads.
func TestCrateTooLarge(t *testing.T) {
	for _, tc := range []struct {
		max, size int64
		want      []string
	}{
		{10 << 20, 12 << 20, []string{"max upload size is: 10 MiB; this one is 12 MiB.", "`max_crate_size`", "[server_config]"}},
		{1000, 0, []string{"max upload size is: 1000 bytes.", "`max_crate_size`"}},
		{1536, 1537, []string{"1.5 KiB (1536 bytes); this one is 1.5 KiB (1537 bytes)"}},
	} {
		msg := CrateTooLarge(tc.max, tc.size).Error()
		for _, w := range tc.want {
			if !strings.Contains(msg, w) {
				t.Errorf("CrateTooLarge(%d, %d) = %q, lacks %q", tc.max, tc.size, msg, w)
			}
		}
	}
}

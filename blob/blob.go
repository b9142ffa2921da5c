// Package blob holds what every crated.BlobStore shares: the key format and
// the reader that checks content against its key while it streams.
// Subpackages fs and s3 are the stores; blobtest is their contract.
package blob

import (
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"

	"github.com/crated/crated"
)

// KeyLen is the length of a key: a lowercase hex SHA-256.
const KeyLen = 64

// ValidKey reports whether key is 64 lowercase hex digits. Only such keys
// reach a filesystem path or an object name, so no key can traverse.
func ValidKey(key string) bool {
	if len(key) != KeyLen {
		return false
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// CheckKey returns EINVALID unless key is valid.
func CheckKey(key string) error {
	if !ValidKey(key) {
		return crated.Errorf(crated.EINVALID, "invalid blob key: want 64 lowercase hex digits")
	}
	return nil
}

// Verifier reads content through, hashing and counting it, and withholds the
// last byte until the content is known to be right: it hashes to key and, when
// the declared size is not negative, has exactly that size. A consumer
// therefore never receives the whole content unless it is valid. That matters
// for a request body: an upload that is one byte short cannot be committed by
// the server, whatever the server checks itself.
//
// When the content is wrong, Read returns an EINVALID error instead of the
// last byte; when the source fails, Read returns the source's error. Either
// error is sticky and also reported by Err.
type Verifier struct {
	r    io.Reader
	key  string
	size int64 // declared size, negative when unknown

	h     hash.Hash
	n     int64  // bytes read from r
	buf   []byte // buf[off:end] is read from r but not yet returned
	off   int
	end   int
	done  bool // r reached EOF and the content verified
	empty int  // consecutive reads from r that returned nothing
	err   error
}

// NewVerifier returns a Verifier of r against key. size is the declared
// content length, or negative when unknown. The key itself is not checked
// here; use CheckKey first.
func NewVerifier(r io.Reader, key string, size int64) *Verifier {
	n := int64(verifierBuffer)
	if size >= 0 {
		// Room for the whole content and the EOF, when that is less.
		n = min(n, size+1)
	}
	return &Verifier{r: r, key: key, size: size, h: sha256.New(), buf: make([]byte, n)}
}

// verifierBuffer is the most a Verifier buffers.
const verifierBuffer = 32 << 10

// WriteTo writes the content to w straight from the Verifier's buffer, with
// the same withholding as Read: io.Copy to a file then needs no buffer of
// its own.
func (v *Verifier) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		b, err := v.next()
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
		n, err := w.Write(b)
		v.off += n
		total += int64(n)
		if err == nil && n < len(b) {
			err = io.ErrShortWrite
		}
		if err != nil {
			return total, err
		}
	}
}

// Read implements io.Reader.
func (v *Verifier) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	b, err := v.next()
	if err != nil {
		return 0, err
	}
	n := copy(p, b)
	v.off += n
	return n, nil
}

// next returns the buffered bytes that may be handed out now, reading from
// the source as needed; the caller advances off by what it used. Until the
// content is verified the last byte read is withheld. At the end it returns
// io.EOF, or the sticky error.
func (v *Verifier) next() ([]byte, error) {
	for {
		held := v.end - v.off
		if v.done {
			if held == 0 {
				return nil, io.EOF
			}
			return v.buf[v.off:v.end], nil
		}
		if v.err != nil {
			return nil, v.err
		}
		// All but the last byte read so far.
		if held > 1 {
			return v.buf[v.off : v.end-1], nil
		}
		v.fill()
	}
}

// fill moves the withheld byte, if any, to the front of buf and reads more
// from the source, hashing what arrives.
func (v *Verifier) fill() {
	if v.end > v.off {
		v.buf[0] = v.buf[v.off]
		v.off, v.end = 0, 1
	} else {
		v.off, v.end = 0, 0
	}
	m, err := v.r.Read(v.buf[v.end:])
	if m == 0 && err == nil {
		// A reader that keeps returning nothing would spin Read forever.
		v.empty++
		if v.empty >= 100 {
			v.err = io.ErrNoProgress
		}
		return
	}
	v.empty = 0
	if m > 0 {
		v.h.Write(v.buf[v.end : v.end+m])
		v.n += int64(m)
		v.end += m
		if v.size >= 0 && v.n > v.size {
			v.err = crated.Errorf(crated.EINVALID, "blob content is longer than its declared size %d", v.size)
			return
		}
	}
	switch {
	case err == io.EOF:
		v.err = v.check()
		v.done = v.err == nil
	case err != nil:
		v.err = err
	}
}

// check compares what was read with the declared size and the key.
func (v *Verifier) check() error {
	if v.size >= 0 && v.n != v.size {
		return crated.Errorf(crated.EINVALID, "blob content has %d bytes, declared size is %d", v.n, v.size)
	}
	if hex.EncodeToString(v.h.Sum(nil)) != v.key {
		return crated.Errorf(crated.EINVALID, "blob content does not match its sha256 key")
	}
	return nil
}

// Done reports whether the whole content was read and verified.
func (v *Verifier) Done() bool { return v.done }

// N returns the number of bytes read from the source so far.
func (v *Verifier) N() int64 { return v.n }

// Err returns the error that stopped reading: EINVALID for wrong content, the
// source's error for a failed read, nil while reading is fine.
func (v *Verifier) Err() error { return v.err }

// Drain reads the rest of the content and returns nil only if it verified.
func (v *Verifier) Drain() error {
	_, err := io.Copy(io.Discard, v)
	return err
}

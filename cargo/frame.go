package cargo

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// ReadFrame splits the body of a publish request (PUT /api/v1/crates/new):
//
//	u32 LE json_len | json_len bytes of JSON | u32 LE crate_len | crate_len bytes of .crate
//
// It never trusts a length: a length above lim.MaxMetadata or lim.MaxCrate
// is ETOOLARGE before anything is allocated for it, and buffers grow only as
// bytes actually arrive, so a request that announces 10 MiB and sends 8
// bytes costs nothing. A truncated body, or bytes after the tarball, is
// EINVALID. Errors of r other than EOF (a closed connection, a body-size
// limit of the HTTP server) are returned wrapped, for the caller to map.
func ReadFrame(r io.Reader, lim Limits) (meta, crate []byte, err error) {
	lim = lim.WithDefaults()
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, nil, frameError(err, "invalid metadata length")
	}
	jsonLen := int64(binary.LittleEndian.Uint32(hdr[:]))
	if jsonLen > lim.MaxMetadata {
		return nil, nil, tooLargef("JSON metadata blob too large: %d bytes, the limit is %d", jsonLen, lim.MaxMetadata)
	}
	meta, n, err := readExactly(r, jsonLen)
	if err != nil {
		return nil, nil, frameError(err, fmt.Sprintf("invalid metadata length for remaining payload: %d", n))
	}
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, nil, frameError(err, "invalid tarball length")
	}
	crateLen := int64(binary.LittleEndian.Uint32(hdr[:]))
	if crateLen > lim.MaxCrate {
		return nil, nil, CrateTooLarge(lim.MaxCrate, crateLen)
	}
	crate, n, err = readExactly(r, crateLen)
	if err != nil {
		return nil, nil, frameError(err, fmt.Sprintf("invalid tarball length for remaining payload: %d", n))
	}
	// Nothing may follow the tarball. One byte tells, however much follows.
	var one [1]byte
	switch n, err := io.ReadFull(r, one[:]); {
	case n > 0:
		return nil, nil, invalidf("unexpected data after the tarball: the publish body is longer than its lengths say")
	case err != io.EOF:
		return nil, nil, frameError(err, "")
	}
	return meta, crate, nil
}

// frameError maps a short read to EINVALID with msg and keeps other errors.
func frameError(err error, msg string) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return invalidf("%s", msg)
	}
	return fmt.Errorf("cargo.ReadFrame: reading the publish body: %w", err)
}

// taker is a reader whose unread bytes are in memory and can be handed over
// without a copy, because nothing will write over them. Take returns the next
// n bytes, or nil, consuming nothing, when it cannot. (bytes.Buffer's Next is
// not enough: the caller may reuse the buffer.)
type taker interface {
	Len() int
	Take(n int) []byte
}

// chunk is the first allocation of readExactly; larger payloads grow from it.
const chunk = 64 << 10

// readExactly reads n bytes. The buffer starts at min(n, chunk) and doubles
// as data arrives (at most n), so memory follows the bytes received rather
// than the length announced; each byte is copied at most once more. It
// returns how many bytes it got.
func readExactly(r io.Reader, n int64) ([]byte, int64, error) {
	if tr, ok := r.(taker); ok && int64(tr.Len()) >= n {
		if b := tr.Take(int(n)); int64(len(b)) == n {
			return b, n, nil
		}
	}
	if lr, ok := r.(interface{ Len() int }); ok && int64(lr.Len()) >= n {
		// The whole payload is already in memory (bytes.Reader,
		// bytes.Buffer): allocate once.
		b := make([]byte, n)
		got, err := io.ReadFull(r, b)
		return b, int64(got), err
	}
	b := make([]byte, 0, min(n, chunk))
	for int64(len(b)) < n {
		if len(b) == cap(b) {
			nb := make([]byte, len(b), min(n, 2*int64(cap(b))))
			copy(nb, b)
			b = nb
		}
		got, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+got]
		if err != nil {
			if int64(len(b)) == n {
				break
			}
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, int64(len(b)), err
		}
	}
	return b, n, nil
}

package cargo

import (
	"fmt"
	"strconv"
)

// rawEntry builds a ustar header and its padded data by hand, for the
// hostile archives that archive/tar's writer refuses to produce (a file
// name with a trailing slash, GNU sparse records).
func rawEntry(name string, typeflag byte, size int64, data []byte) []byte {
	var h [512]byte
	copy(h[0:100], name)
	copy(h[100:108], "0000644\x00")
	copy(h[108:116], "0000000\x00")
	copy(h[116:124], "0000000\x00")
	copy(h[124:136], fmt.Sprintf("%011o\x00", size))
	copy(h[136:148], "00000000000\x00")
	h[156] = typeflag
	if typeflag == 'S' {
		// Old GNU sparse files exist only in the GNU format.
		copy(h[257:265], "ustar  \x00")
		copy(h[483:495], fmt.Sprintf("%011o\x00", size))
	} else {
		copy(h[257:263], "ustar\x00")
		copy(h[263:265], "00")
	}
	copy(h[148:156], "        ")
	sum := 0
	for _, c := range h {
		sum += int(c)
	}
	copy(h[148:156], fmt.Sprintf("%06o\x00 ", sum))
	out := append(h[:], data...)
	if pad := len(data) % 512; pad != 0 {
		out = append(out, make([]byte, 512-pad)...)
	}
	return out
}

// rawPAX builds a pax extended header ('x') applying to the next entry.
func rawPAX(records [][2]string) []byte {
	var body []byte
	for _, r := range records {
		rec := " " + r[0] + "=" + r[1] + "\n"
		// The length prefix counts itself.
		n := len(rec) + 1
		for len(strconv.Itoa(n))+len(rec) != n {
			n++
		}
		body = append(body, strconv.Itoa(n)+rec...)
	}
	return rawEntry("PaxHeaders/x", 'x', int64(len(body)), body)
}

// rawEnd is the end-of-archive marker: two zero blocks.
func rawEnd() []byte { return make([]byte, 1024) }

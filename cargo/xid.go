package cargo

import "unicode"

// Unicode identifiers (UAX #31), as Rust's unicode-xid crate decides them.
// Go's unicode package has no XID properties, so they are derived from the
// properties it has:
//
//	ID_Start    = L + Nl + Other_ID_Start - Pattern_Syntax - Pattern_White_Space
//	ID_Continue = ID_Start + Mn + Mc + Nd + Pc + Other_ID_Continue - Pattern_Syntax - Pattern_White_Space
//
// and XID_Start / XID_Continue remove the few characters whose NFKC form is
// not an identifier (DerivedCoreProperties.txt). The derivation was checked
// against Python's str.isidentifier (which uses XID) over every code point.

func isIDStart(r rune) bool {
	return (unicode.IsLetter(r) || unicode.Is(unicode.Nl, r) || unicode.Is(unicode.Other_ID_Start, r)) &&
		!unicode.Is(unicode.Pattern_Syntax, r) && !unicode.Is(unicode.Pattern_White_Space, r)
}

func isIDContinue(r rune) bool {
	return (isIDStart(r) || unicode.In(r, unicode.Mn, unicode.Mc, unicode.Nd, unicode.Pc, unicode.Other_ID_Continue)) &&
		!unicode.Is(unicode.Pattern_Syntax, r) && !unicode.Is(unicode.Pattern_White_Space, r)
}

// notXIDContinue are in ID_Continue but not in XID_Continue.
func notXIDContinue(r rune) bool {
	switch {
	case r == 0x037A, r == 0x309B, r == 0x309C,
		0xFC5E <= r && r <= 0xFC63, r == 0xFDFA, r == 0xFDFB:
		return true
	case 0xFE70 <= r && r <= 0xFE7E:
		return r%2 == 0 // FE70, FE72, ..., FE7E
	}
	return false
}

// notXIDStart are in ID_Start but not in XID_Start.
func notXIDStart(r rune) bool {
	switch r {
	case 0x0E33, 0x0EB3, 0xFF9E, 0xFF9F:
		return true
	}
	return notXIDContinue(r)
}

func isXIDStart(r rune) bool {
	if r < 0x80 {
		return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z'
	}
	return isIDStart(r) && !notXIDStart(r)
}

func isXIDContinue(r rune) bool {
	if r < 0x80 {
		return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '_'
	}
	return isIDContinue(r) && !notXIDContinue(r)
}

package cargo

import "strings"

// IndexPath returns the path of a crate's file in the index, relative to the
// index root, as cargo's make_dep_path builds it (PROTOCOL.md 1.2): the
// lowercased name under "1/", "2/", "3/{first char}/" or
// "{chars 1-2}/{chars 3-4}/". For example "1/a", "2/ab", "3/a/abc",
// "se/rd/serde". The name must be a valid crate name.
func IndexPath(name string) string {
	n := strings.ToLower(name)
	switch len(n) {
	case 0:
		return ""
	case 1:
		return "1/" + n
	case 2:
		return "2/" + n
	case 3:
		return "3/" + n[:1] + "/" + n
	}
	return n[:2] + "/" + n[2:4] + "/" + n
}

// NameFromIndexPath is the inverse of IndexPath for request routing: it
// checks that p is exactly the path IndexPath gives for its last element,
// that the element is lowercase and has the shape of a crate name (ASCII
// letter first, then [a-z0-9_-], at most 64), and returns it. Anything else
// (config.json, upper case, a wrong prefix, extra slashes) gives false.
func NameFromIndexPath(p string) (string, bool) {
	i := strings.LastIndexByte(p, '/')
	if i < 0 {
		return "", false
	}
	name := p[i+1:]
	if name == "" || len(name) > MaxNameLength || name[0] < 'a' || name[0] > 'z' {
		return "", false
	}
	for j := 1; j < len(name); j++ {
		c := name[j]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return "", false
		}
	}
	if IndexPath(name) != p {
		return "", false
	}
	return name, true
}

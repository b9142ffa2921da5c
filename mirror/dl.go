package mirror

import (
	"strings"
)

// dlMarkers are the placeholders cargo substitutes in a registry's dl
// template (PROTOCOL.md 1.1).
var dlMarkers = []string{"{crate}", "{version}", "{prefix}", "{lowerprefix}", "{sha256-checksum}"}

// downloadURL expands a dl template as cargo does: plain substitutions, no
// percent-encoding; a template without any marker gets
// "/{crate}/{version}/download" appended.
func downloadURL(tmpl, name, vers, cksum string) string {
	has := false
	for _, m := range dlMarkers {
		if strings.Contains(tmpl, m) {
			has = true
			break
		}
	}
	if !has {
		return tmpl + "/" + name + "/" + vers + "/download"
	}
	prefix := depPrefix(name)
	return strings.NewReplacer(
		"{crate}", name,
		"{version}", vers,
		"{prefix}", prefix,
		"{lowerprefix}", strings.ToLower(prefix),
		"{sha256-checksum}", cksum,
	).Replace(tmpl)
}

// depPrefix is cargo's make_dep_path(name, true): the directories of the
// index path (cargo.IndexPath) in the name's own case ("My/Cr" for
// "MyCrate"), as the {prefix} marker wants.
func depPrefix(name string) string {
	switch len(name) {
	case 0:
		return ""
	case 1:
		return "1"
	case 2:
		return "2"
	case 3:
		return "3/" + name[:1]
	}
	return name[:2] + "/" + name[2:4]
}

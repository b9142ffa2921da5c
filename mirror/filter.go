package mirror

import (
	"bytes"
	"encoding/json"
	"path"
	"strings"
	"time"

	"github.com/crated/crated/cargo"
)

// names decides which crate names the mirror serves.
type names struct {
	allow, deny []string
}

func newNames(allow, deny []string) names {
	lower := func(ps []string) []string {
		out := make([]string, len(ps))
		for i, p := range ps {
			out[i] = strings.ToLower(p)
		}
		return out
	}
	return names{allow: lower(allow), deny: lower(deny)}
}

// allowed reports whether name may be mirrored: deny wins, and a non-empty
// allow list admits only the names it matches. Matching ignores case and
// treats '-' and '_' alike, as crate names do (cargo.CanonicalName): a
// pattern "evil-*" also refuses "Evil_x".
func (n names) allowed(name string) bool {
	if matchAny(n.deny, name) {
		return false
	}
	return len(n.allow) == 0 || matchAny(n.allow, name)
}

func matchAny(patterns []string, name string) bool {
	if len(patterns) == 0 {
		return false
	}
	canon := cargo.CanonicalName(name)            // lower, '-' -> '_'
	dashed := strings.ReplaceAll(canon, "_", "-") // lower, '_' -> '-'
	for _, p := range patterns {
		for _, s := range [...]string{strings.ToLower(name), canon, dashed} {
			if ok, _ := path.Match(p, s); ok {
				return true
			}
		}
	}
	return false
}

// lineInfo is what the mirror reads from an upstream index line. The line
// itself is served as it is.
type lineInfo struct {
	Name    string `json:"name"`
	Vers    string `json:"vers"`
	Cksum   string `json:"cksum"`
	Pubtime string `json:"pubtime"`
}

// eachLine calls fn for every non-empty line of body with its parsed
// fields; lines that are not JSON objects get a zero lineInfo (cargo skips
// them, and so does every check here).
func eachLine(body []byte, fn func(line []byte, info lineInfo) bool) {
	for len(body) > 0 {
		line := body
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			line, body = body[:i], body[i+1:]
		} else {
			body = nil
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var info lineInfo
		_ = json.Unmarshal(line, &info)
		if !fn(line, info) {
			return
		}
	}
}

// published returns the line's publish time; ok is false when the line
// has no pubtime the mirror can read. Lines without pubtime count as old:
// crates.io only records it for versions published since 2025, so hiding
// them would hide most of the registry. (min_age therefore protects only
// against versions of an upstream that records pubtime, which crates.io
// and crated do for every new publish.)
func (l lineInfo) published() (time.Time, bool) {
	if l.Pubtime == "" {
		return time.Time{}, false
	}
	t, err := time.Parse(cargo.PubtimeFormat, l.Pubtime)
	return t, err == nil
}

// filterMinAge returns body without the lines published less than minAge
// before now, byte for byte otherwise, and when the result changes next
// (the earliest moment a hidden line comes of age; zero when nothing is
// hidden).
func filterMinAge(body []byte, minAge time.Duration, now time.Time) (out []byte, until time.Time) {
	if minAge <= 0 {
		return body, time.Time{}
	}
	cutoff := now.Add(-minAge)
	hidden := false
	eachLine(body, func(line []byte, info lineInfo) bool {
		if t, ok := info.published(); ok && t.After(cutoff) {
			if !hidden {
				hidden = true
				out = make([]byte, 0, len(body))
			}
			if due := t.Add(minAge); until.IsZero() || due.Before(until) {
				until = due
			}
		}
		return true
	})
	if !hidden {
		return body, time.Time{}
	}
	eachLine(body, func(line []byte, info lineInfo) bool {
		if t, ok := info.published(); ok && t.After(cutoff) {
			return true
		}
		out = append(out, line...)
		out = append(out, '\n')
		return true
	})
	return out, until
}

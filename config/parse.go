package config

import (
	"errors"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

func parseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "1", "yes", "on":
		return true, nil
	case "false", "0", "no", "off":
		return false, nil
	}
	return false, errors.New("expected true or false")
}

func parseInt(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0, errors.New("expected an integer")
	}
	return n, nil
}

// sizeUnits maps a lower-cased unit to its number of bytes. KB/MB/GB are
// decimal and KiB/MiB/GiB binary, as their names say; the bare K/M/G letters
// are binary, as in nginx and most tools that accept them.
var sizeUnits = map[string]int64{
	"": 1, "b": 1,
	"k": KiB, "kib": KiB, "kb": 1000,
	"m": MiB, "mib": MiB, "mb": 1000 * 1000,
	"g": GiB, "gib": GiB, "gb": 1000 * 1000 * 1000,
}

// parseSize reads a byte count: "10485760", "10MiB", "50MB", "1.5 GiB".
// Negative values parse; Validate rejects them with the key's name.
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && (t[i] == '-' || t[i] == '+' || t[i] == '.' || (t[i] >= '0' && t[i] <= '9')) {
		i++
	}
	num, unit := t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	mult, ok := sizeUnits[unit]
	if num == "" || !ok {
		return 0, errors.New(`expected a size such as 10485760, "512KiB", "10MiB" or "1GB"`)
	}
	if n, err := strconv.ParseInt(num, 10, 64); err == nil {
		if n > math.MaxInt64/mult || n < math.MinInt64/mult {
			return 0, errors.New("size too large")
		}
		return n * mult, nil
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, errors.New(`expected a size such as 10485760, "512KiB", "10MiB" or "1GB"`)
	}
	b := f * float64(mult)
	if math.IsNaN(b) || b >= math.MaxInt64 || b <= math.MinInt64 {
		return 0, errors.New("size too large")
	}
	return int64(b), nil
}

// parseDuration reads a Go duration ("90s", "1h30m"), whole days ("7d") or
// a bare number of seconds ("300").
func parseDuration(s string) (time.Duration, error) {
	t := strings.TrimSpace(s)
	bad := errors.New(`expected a duration such as "90s", "5m", "7d" or a number of seconds`)
	if n, err := strconv.ParseInt(t, 10, 64); err == nil {
		if n > math.MaxInt64/int64(time.Second) || n < math.MinInt64/int64(time.Second) {
			return 0, bad
		}
		return time.Duration(n) * time.Second, nil
	}
	if days, ok := strings.CutSuffix(t, "d"); ok {
		n, err := strconv.ParseInt(days, 10, 64)
		if err != nil || n > math.MaxInt64/int64(24*time.Hour) || n < math.MinInt64/int64(24*time.Hour) {
			return 0, bad
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(t)
	if err != nil {
		return 0, bad
	}
	return d, nil
}

// splitList reads a comma-separated list, dropping blanks: "a, b,,c" is
// [a b c] and "" is the empty list.
func splitList(s string) []string {
	var out []string
	for _, e := range strings.Split(s, ",") {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}

var errAddress = errors.New(`expected an IP address such as "0.0.0.0", "::", "127.0.0.1" or [0, 0, 0, 0]`)

// parseAddress normalizes a listen address written as text: an IPv4 or IPv6
// literal (brackets allowed) or "localhost".
func parseAddress(s string) (string, error) {
	t := strings.TrimSpace(s)
	if strings.EqualFold(t, "localhost") {
		return "localhost", nil
	}
	t = strings.TrimSuffix(strings.TrimPrefix(t, "["), "]")
	a, err := netip.ParseAddr(t)
	if err != nil {
		return "", errAddress
	}
	return a.String(), nil
}

// addressFromArray reads Ktra's array form: 4 bytes for IPv4 ([0, 0, 0, 0]),
// 8 16-bit groups ([0, 0, 0, 0, 0, 0, 0, 1]) or 16 bytes for IPv6.
func addressFromArray(arr []any) (string, error) {
	nums := make([]int64, len(arr))
	for i, e := range arr {
		n, ok := e.(int64)
		if !ok {
			return "", errAddress
		}
		nums[i] = n
	}
	inRange := func(max int64) bool {
		for _, n := range nums {
			if n < 0 || n > max {
				return false
			}
		}
		return true
	}
	var b [16]byte
	switch {
	case len(nums) == 4 && inRange(255):
		return netip.AddrFrom4([4]byte{byte(nums[0]), byte(nums[1]), byte(nums[2]), byte(nums[3])}).String(), nil
	case len(nums) == 8 && inRange(65535):
		for i, n := range nums {
			b[2*i], b[2*i+1] = byte(n>>8), byte(n)
		}
		return netip.AddrFrom16(b).String(), nil
	case len(nums) == 16 && inRange(255):
		for i, n := range nums {
			b[i] = byte(n)
		}
		return netip.AddrFrom16(b).String(), nil
	}
	return "", errAddress
}

// validAddress reports whether s is an address crated can listen on.
func validAddress(s string) bool {
	if s == "localhost" {
		return true
	}
	_, err := netip.ParseAddr(s)
	return err == nil
}

// splitSegments turns dl_path elements into single path segments, so that
// ["api/v1/dl"] and ["api", "v1", "dl"] mean the same route.
func splitSegments(in []string) []string {
	var out []string
	for _, e := range in {
		for _, seg := range strings.Split(e, "/") {
			if seg = strings.TrimSpace(seg); seg != "" {
				out = append(out, seg)
			}
		}
	}
	return out
}

func trimSlash(s string) string { return strings.TrimRight(strings.TrimSpace(s), "/") }

func trimSlashes(s string) string { return strings.Trim(strings.TrimSpace(s), "/") }

// normalizeIndexURL drops cargo's "sparse+" prefix and ensures the trailing
// slash that index file paths are appended to.
func normalizeIndexURL(s string) string {
	s = strings.TrimPrefix(strings.TrimSpace(s), "sparse+")
	if s != "" && !strings.HasSuffix(s, "/") {
		s += "/"
	}
	return s
}

// union returns the elements of a then those of b not already seen.
func union(a, b []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, list := range [][]string{a, b} {
		for _, e := range list {
			if !seen[e] {
				seen[e] = true
				out = append(out, e)
			}
		}
	}
	return out
}

func itoa(n int) string { return strconv.Itoa(n) }

// suggest returns the candidate closest to s when it is a likely typo
// (at most two edits, compared case-insensitively), or "".
func suggest(s string, candidates []string) string {
	best, bestDist := "", 3
	for _, c := range candidates {
		if d := editDistance(strings.ToLower(s), strings.ToLower(c)); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// ParsePrefix reads a trusted_proxies entry: a CIDR ("10.0.0.0/8") or a
// single address, which means that address alone.
func ParsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

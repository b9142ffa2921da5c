package web

import (
	"embed"
	"fmt"
	"html/template"
	"strconv"
	"strings"
	"time"
)

//go:embed templates
var templateFS embed.FS

// pageNames are the templates under templates/, each executed inside
// layout.html.
var pageNames = []string{"home", "search", "crate", "error", "private", "frame", "user"}

// parseTemplates parses every page together with the layout. Templates are
// compiled into the binary, so a parse error is a build defect that the
// package tests catch; it panics like template.Must.
func parseTemplates(funcs template.FuncMap) map[string]*template.Template {
	pages := make(map[string]*template.Template, len(pageNames))
	for _, name := range pageNames {
		pages[name] = template.Must(template.New(name).Funcs(funcs).ParseFS(templateFS,
			"templates/layout.html", "templates/crate_audit.html", "templates/"+name+".html"))
	}
	return pages
}

func (ui *UI) funcs() template.FuncMap {
	return template.FuncMap{
		"crateURL":   ui.crateURL,
		"userURL":    ui.userURL,
		"versionURL": ui.versionURL,
		"searchURL":  ui.searchURL,
		"homeURL":    func() string { return ui.prefix + "/" },
		"date":       func(t time.Time) string { return t.UTC().Format("Jan 2, 2006") },
		"isoTime":    func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"number":     formatNumber,
		"bytes":      formatBytes,
		"join":       strings.Join,
		"plural":     plural,
	}
}

// formatNumber writes n with thousands separators: 1234567 -> "1,234,567".
func formatNumber(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// formatBytes writes a size in the largest binary unit that keeps it at
// least 1: 2048 -> "2.0 KiB".
func formatBytes(n int64) string {
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	v, unit := float64(n), 0
	units := []string{"KiB", "MiB", "GiB", "TiB"}
	for v /= 1024; v >= 1024 && unit < len(units)-1; unit++ {
		v /= 1024
	}
	return fmt.Sprintf("%.1f %s", v, units[unit])
}

// plural picks the word for a count of int or int64.
func plural(n any, one, many string) string {
	switch n := n.(type) {
	case int:
		if n == 1 {
			return one
		}
	case int64:
		if n == 1 {
			return one
		}
	}
	return many
}

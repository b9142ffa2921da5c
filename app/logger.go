package app

import (
	"io"
	"log/slog"

	"github.com/crated/crated/httpapi"
)

// NewLogger builds the process's logger: server_config.log_format "json"
// writes one JSON object per line, anything else slog's key=value text.
// Lines logged while serving a request carry its request_id.
func NewLogger(w io.Writer, format string, level slog.Leveler) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler
	if format == "json" {
		h = slog.NewJSONHandler(w, opts)
	} else {
		h = slog.NewTextHandler(w, opts)
	}
	return slog.New(httpapi.LogHandler(h))
}

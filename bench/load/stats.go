package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// Result is what one run measured.
type Result struct {
	Mode        string  `json:"mode"`
	Concurrency int     `json:"concurrency"`
	Rate        float64 `json:"rate,omitempty"` // requests/s asked for; 0: as fast as possible
	Requests    int     `json:"requests"`
	Errors      int     `json:"errors"`
	Seconds     float64 `json:"seconds"`
	RPS         float64 `json:"rps"`
	// Latencies in milliseconds, of successful and failed requests alike.
	P50  float64 `json:"p50_ms"`
	P90  float64 `json:"p90_ms"`
	P99  float64 `json:"p99_ms"`
	P999 float64 `json:"p999_ms"`
	Max  float64 `json:"max_ms"`
	Mean float64 `json:"mean_ms"`
	// Bytes is the total response (get) or request (publish) body size.
	Bytes int64 `json:"bytes"`
	// ClientCPU is this load generator's own CPU time (user and system)
	// per request during the run, in milliseconds: on a machine that the
	// server shares, what the client takes is not there for the server.
	ClientCPU float64 `json:"client_cpu_ms"`
	// FirstErrors are a few distinct error messages, for the reader.
	FirstErrors []string `json:"first_errors,omitempty"`
}

// summarize computes the rates and percentiles. It sorts lat.
func summarize(r *Result, lat []time.Duration, elapsed time.Duration) {
	r.Requests = len(lat)
	r.Seconds = elapsed.Seconds()
	if elapsed > 0 {
		r.RPS = float64(len(lat)) / elapsed.Seconds()
	}
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	var sum time.Duration
	for _, d := range lat {
		sum += d
	}
	r.Mean = ms(sum / time.Duration(len(lat)))
	r.P50 = ms(percentile(lat, 50))
	r.P90 = ms(percentile(lat, 90))
	r.P99 = ms(percentile(lat, 99))
	r.P999 = ms(percentile(lat, 99.9))
	r.Max = ms(lat[len(lat)-1])
}

// percentile returns the nearest-rank percentile p (0 < p <= 100) of sorted
// durations: the smallest value that at least p percent of them do not
// exceed.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(p/100*float64(len(sorted)) + 0.9999999)
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// write prints r as text for people, key=value for scripts, or JSON.
func (r *Result) write(w io.Writer, format string) error {
	switch format {
	case "json":
		return json.NewEncoder(w).Encode(r)
	case "kv":
		_, err := fmt.Fprintf(w, "mode=%s concurrency=%d requests=%d errors=%d seconds=%.2f rps=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f p999_ms=%.3f max_ms=%.3f mean_ms=%.3f bytes=%d client_cpu_ms=%.3f\n",
			r.Mode, r.Concurrency, r.Requests, r.Errors, r.Seconds, r.RPS, r.P50, r.P90, r.P99, r.P999, r.Max, r.Mean, r.Bytes, r.ClientCPU)
		return err
	}
	var b strings.Builder
	rate := "as fast as possible"
	if r.Rate > 0 {
		rate = fmt.Sprintf("at %.0f/s", r.Rate)
	}
	fmt.Fprintf(&b, "%s: %d connections %s, %.1fs: %d requests, %d errors, %.1f req/s\n", r.Mode, r.Concurrency, rate, r.Seconds, r.Requests, r.Errors, r.RPS)
	fmt.Fprintf(&b, "client CPU per request: %.3f ms\n", r.ClientCPU)
	fmt.Fprintf(&b, "latency ms: p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  max %.3f  mean %.3f\n", r.P50, r.P90, r.P99, r.P999, r.Max, r.Mean)
	for _, e := range r.FirstErrors {
		fmt.Fprintf(&b, "error: %s\n", e)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

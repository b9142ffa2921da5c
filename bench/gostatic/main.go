// Command gostatic serves a directory with nothing but Go's net/http, the
// way nginx serves it in bench/run.sh (same paths, content types and
// caching headers, sendfile through http.ServeContent). It is the second
// baseline of the throughput comparison: crated against gostatic shows what
// crated's own code costs, gostatic against nginx what Go's HTTP server
// costs on the same machine.
//
//	gostatic -addr 127.0.0.1:18783 -root DIR [-mem]
//
// With -mem it keeps each file in memory after its first read and writes it
// with one Write, as crated serves index files from its cache: the ceiling
// of any handler on Go's HTTP server.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18783", "loopback address to listen on")
	root := flag.String("root", "", "directory to serve")
	mem := flag.Bool("mem", false, "serve files from memory after their first read")
	flag.Parse()
	if err := run(*addr, *root, *mem); err != nil {
		fmt.Fprintln(os.Stderr, "gostatic:", err)
		os.Exit(1)
	}
}

func run(addr, root string, mem bool) error {
	if root == "" {
		return errors.New("-root is required")
	}
	if host, _, err := net.SplitHostPort(addr); err != nil || !net.ParseIP(host).IsLoopback() {
		return fmt.Errorf("-addr %q: must be a loopback IP and port", addr)
	}
	srv := &http.Server{
		Addr:              addr,
		Handler:           handler(root, mem),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	return srv.ListenAndServe()
}

// memFile is a file kept in memory with its response headers.
type memFile struct {
	body   []byte
	header http.Header
}

func handler(root string, mem bool) http.Handler {
	var cache sync.Map // clean path -> *memFile
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := path.Clean(r.URL.Path)
		if strings.Contains(p, "..") {
			http.NotFound(w, r)
			return
		}
		if mem {
			if v, ok := cache.Load(p); ok {
				m := v.(*memFile)
				h := w.Header()
				for k, v := range m.header {
					h[k] = v
				}
				w.Write(m.body)
				return
			}
		}
		f, err := os.Open(filepath.Join(root, filepath.FromSlash(p)))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil || !fi.Mode().IsRegular() {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		if strings.HasPrefix(p, "/index/") {
			h["Content-Type"] = []string{"text/plain; charset=utf-8"}
			h["Cache-Control"] = []string{"no-cache"}
		} else {
			h["Content-Type"] = []string{"application/x-tar"}
			h["Cache-Control"] = []string{"public, max-age=31536000, immutable"}
			h["Content-Disposition"] = []string{"attachment"}
		}
		// nginx's ETag: modification time and size, in hex.
		h["Etag"] = []string{fmt.Sprintf(`"%x-%x"`, fi.ModTime().Unix(), fi.Size())}
		if mem {
			body, err := io.ReadAll(f)
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			h["Content-Length"] = []string{strconv.Itoa(len(body))}
			cache.Store(p, &memFile{body: body, header: h.Clone()})
			w.Write(body)
			return
		}
		http.ServeContent(w, r, "", fi.ModTime(), f)
	})
}

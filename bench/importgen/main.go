// Command importgen writes a source registry for the `crated import`
// benchmark (bench/import.sh): an index tree of realistic lines (bench/synth)
// and a real .crate for every version, in one of the layouts the import
// reads.
//
//	importgen -out DIR [-crates 10000] [-versions 10] [-layout flat|ktra|static] [-code-bytes 512]
//
// DIR/index gets the index files (and a config.json), DIR/crates the
// .crate files. One version in 50 is yanked. Everything is derived from the
// crate number, so two runs write the same bytes.
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/crated/crated/bench/synth"
	"github.com/crated/crated/cargo"
	"github.com/crated/crated/registryimport/importtest"
)

func main() {
	out := flag.String("out", "", "directory to write index/ and crates/ into")
	crates := flag.Int("crates", 10000, "number of crates")
	versions := flag.Int("versions", 10, "versions per crate")
	layout := flag.String("layout", "flat", "crate file layout: flat, ktra or static")
	codeBytes := flag.Int("code-bytes", 512, "size of each crate's src/lib.rs before compression")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "importgen: -out is required")
		os.Exit(2)
	}
	if err := run(*out, *crates, *versions, importtest.Layout(*layout), *codeBytes); err != nil {
		fmt.Fprintln(os.Stderr, "importgen:", err)
		os.Exit(1)
	}
}

func run(out string, crates, versions int, layout importtest.Layout, codeBytes int) error {
	indexDir, cratesDir := filepath.Join(out, "index"), filepath.Join(out, "crates")
	if err := os.MkdirAll(indexDir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(indexDir, "config.json"), []byte(`{"dl":"http://old.example.com/dl"}`), 0o644); err != nil {
		return err
	}
	pubtime := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, runtime.GOMAXPROCS(0))
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < crates; i = int(next.Add(1) - 1) {
				if err := writeCrate(indexDir, cratesDir, i, versions, layout, codeBytes, pubtime); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	fmt.Printf("wrote %d versions of %d crates under %s\n", crates*versions, crates, out)
	return nil
}

func writeCrate(indexDir, cratesDir string, i, versions int, layout importtest.Layout, codeBytes int, pubtime time.Time) error {
	name := synth.Name(i)
	var index bytes.Buffer
	for j := range versions {
		c := synth.New(name, synth.Version(j), codeBytes, "")
		tarball := c.Tarball()
		sum := sha256.Sum256(tarball)
		line := c.IndexLine(hex.EncodeToString(sum[:]), pubtime.Add(time.Duration(i*versions+j)*time.Second))
		if (i*versions+j)%50 == 49 {
			var err error
			if line, err = cargo.SetYanked(line, true); err != nil {
				return err
			}
		}
		index.Write(line)
		index.WriteByte('\n')
		p := filepath.Join(cratesDir, importtest.CratePath(layout, c.Name, c.Vers))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, tarball, 0o644); err != nil {
			return err
		}
	}
	p := filepath.Join(indexDir, cargo.IndexPath(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, index.Bytes(), 0o644)
}

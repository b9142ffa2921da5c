package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/crated/crated"
	"github.com/crated/crated/blob/fs"
)

var gcSpec = &cmdSpec{
	name:     "gc",
	synopsis: "[--delete] [--grace DURATION] [-c FILE]",
	about: `Lists the crate files that no version refers to (left by a publish that failed after
storing its file, or by a crash) and the temporary files an interrupted upload left in the crate
files directory. Nothing is removed without --delete. It runs beside a serving registry.

A publish stores its file a moment before it records the version, so a file younger than the
grace period (default 1h, by modification time) is kept even when nothing refers to it yet; a
publish that finds its file already stored refreshes that time. Keep the grace period well above
the longest publish.

It works on the crate files directory (dl_dir_path), with SQLite or PostgreSQL. With S3, crated
never deletes objects: use the bucket's tools.`,
	flags: func(fs *flag.FlagSet) {
		fs.Bool("delete", false, "delete what is listed (default: only list it)")
		fs.Duration("grace", time.Hour, "keep files modified more recently than this")
	},
}

func runGC(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cl, err := gcSpec.parse(args, stdout, stderr)
	if err != nil {
		return err
	}
	grace, err := time.ParseDuration(cl.stringFlag("grace"))
	if err != nil || grace < time.Minute {
		return gcSpec.usageError("--grace %s: give a duration of at least 1m, longer than any publish takes", cl.stringFlag("grace"))
	}
	del := cl.boolFlag("delete")
	m, err := cl.main(stderr)
	if err != nil {
		return err
	}
	if m.Config.CrateFiles.S3Bucket != "" {
		return errors.New("crated gc works on a crate files directory (dl_dir_path); this registry keeps its files in S3, " +
			"where crated never deletes objects: use the bucket's tools (see docs/deploy.md, \"Cleaning up\")")
	}
	if err := m.OpenExistingStores(ctx); err != nil {
		return err
	}
	defer m.Close()
	blobs, ok := m.Blobs.(*fs.Store)
	refs, ok2 := m.Store.(blobReferencer)
	if !ok || !ok2 {
		return fmt.Errorf("crated gc: the stores (%T, %T) do not support collection", m.Store, m.Blobs)
	}
	cutoff := time.Now().Add(-grace)

	// The files first, the references second: a file listed here whose
	// version commits before the references are read is kept, and one whose
	// publish is still in flight is younger than the grace period.
	var stored []string
	if err := blobs.Walk(ctx, func(key string) error { stored = append(stored, key); return nil }); err != nil {
		return err
	}
	referenced := map[string]bool{}
	if err := refs.ReferencedBlobs(ctx, func(key string) error { referenced[key] = true; return nil }); err != nil {
		return err
	}

	if lost := missingFiles(ctx, blobs, stored, referenced); len(lost) > 0 {
		fmt.Fprintf(stderr, "warning: %d versions refer to crate files that are not in %s (first: %s); restore them from a backup\n",
			len(lost), m.Config.CrateFiles.DLDirPath, lost[0])
	}

	verb := "would delete"
	if del {
		verb = "deleted"
	}
	var found, recent, done int
	for _, key := range stored {
		if referenced[key] {
			continue
		}
		mod, err := blobs.ModTime(ctx, key)
		if err != nil {
			continue // gone meanwhile
		}
		found++
		if !mod.Before(cutoff) {
			recent++
			fmt.Fprintf(stdout, "kept (modified %s ago, within --grace): unreferenced crate file %s\n", time.Since(mod).Round(time.Second), blobs.Path(key))
			continue
		}
		if del {
			ok, err := blobs.DeleteIfOlder(ctx, key, cutoff)
			if err != nil {
				return err
			}
			if !ok {
				recent++
				continue
			}
		}
		done++
		fmt.Fprintf(stdout, "%s unreferenced crate file %s\n", verb, blobs.Path(key))
	}
	var temps, tempsDone int
	err = blobs.TempFiles(ctx, func(f fs.TempFile) error {
		temps++
		if !f.ModTime.Before(cutoff) {
			fmt.Fprintf(stdout, "kept (modified %s ago, an upload in progress?): temporary file %s\n", time.Since(f.ModTime).Round(time.Second), f.Path)
			return nil
		}
		if del {
			ok, err := blobs.RemoveTempIfOlder(f.Path, cutoff)
			if err != nil || !ok {
				return err
			}
		}
		tempsDone++
		fmt.Fprintf(stdout, "%s stale temporary file %s (%d bytes)\n", verb, f.Path, f.Size)
		return nil
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d crate files, %d referenced by %s; %s %d unreferenced and %d temporary files",
		len(stored), len(stored)-found, m.StoreName(), verb, done, tempsDone)
	if kept := recent + temps - tempsDone; kept > 0 {
		fmt.Fprintf(stdout, "; kept %d younger than %s", kept, grace)
	}
	fmt.Fprintln(stdout)
	if !del && done+tempsDone > 0 {
		fmt.Fprintln(stdout, "nothing was deleted: run again with --delete to delete them")
	}
	return nil
}

// missingFiles returns the referenced keys that are not stored: damage that
// gc reports but cannot repair.
func missingFiles(ctx context.Context, blobs *fs.Store, stored []string, referenced map[string]bool) []string {
	have := make(map[string]bool, len(stored))
	for _, k := range stored {
		have[k] = true
	}
	var lost []string
	for k := range referenced {
		if have[k] {
			continue
		}
		// Stored after the walk (a publish meanwhile) is not lost.
		if _, err := blobs.Stat(ctx, k); crated.IsCode(err, crated.ENOTFOUND) {
			lost = append(lost, k)
		}
	}
	return lost
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/crated/crated/blob/fs"
	"github.com/crated/crated/blob/s3"
	"github.com/crated/crated/migrate"
)

const migrateStoreUsage = `Usage: crated migrate-store --from STORE --to STORE [crate file flags]

Copies users, tokens, crates, versions, owners and download counts from one
metadata store to another, and with the crate file flags the .crate files
too, then verifies the copy. STORE is sqlite:PATH (the crated.db file or its
db_dir_path) or postgres:URL. Stop the registry first. Running the command
again after an interruption resumes where it stopped. See docs/deploy.md for
what is not carried over (the audit log's history, per-version download
counts, IDs).

Crate files: --from-blobs DIR (the source's dl_dir_path) with either
--to-blobs DIR or --to-s3-bucket NAME and the other --to-s3-* flags. S3
credentials come from --to-s3-access-key(-file) and --to-s3-secret-key-file,
or, when none is given, from the AWS environment (AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY, an instance role).

Flags:
`

// runMigrateStore is `crated migrate-store`.
func runMigrateStore(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	fl := flag.NewFlagSet("crated migrate-store", flag.ContinueOnError)
	// -h prints the help on stdout (exit 0); a mistake is reported on stderr.
	help := func(w io.Writer) {
		fmt.Fprint(w, migrateStoreUsage)
		fl.SetOutput(w)
		fl.PrintDefaults()
	}
	fl.SetOutput(io.Discard)
	fl.Usage = func() {}
	from := fl.String("from", "", "source metadata store: sqlite:PATH or postgres:URL")
	to := fl.String("to", "", "target metadata store: sqlite:PATH or postgres:URL")
	fromBlobs := fl.String("from-blobs", "", "directory of the source's crate files (its dl_dir_path)")
	toBlobs := fl.String("to-blobs", "", "directory for the target's crate files")
	var sc s3.Config
	var accessFile, secretFile, pathStyle string
	fl.StringVar(&sc.Bucket, "to-s3-bucket", "", "copy the crate files into this S3 bucket (s3_bucket)")
	fl.StringVar(&sc.Endpoint, "to-s3-endpoint", "", "S3 endpoint URL (s3_endpoint); empty means AWS")
	fl.StringVar(&sc.Region, "to-s3-region", "", "S3 region (s3_region)")
	fl.StringVar(&sc.Prefix, "to-s3-prefix", "", "object key prefix (s3_prefix)")
	fl.StringVar(&pathStyle, "to-s3-path-style", "", "true or false: path-style or virtual-host addressing (s3_path_style); empty lets the client choose")
	fl.StringVar(&sc.AccessKey, "to-s3-access-key", "", "S3 access key (s3_access_key)")
	fl.StringVar(&accessFile, "to-s3-access-key-file", "", "file holding the S3 access key")
	fl.StringVar(&secretFile, "to-s3-secret-key-file", "", "file holding the S3 secret key (never pass a secret on the command line)")
	verifyOnly := fl.Bool("verify-only", false, "copy nothing; only compare source and target")
	quiet := fl.Bool("quiet", false, "show no progress bars")
	workers := fl.Int("workers", 4, "crate files copied or hashed at once")
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			help(stdout)
			return err
		}
		return fmt.Errorf("migrate-store: %w (run \"%s migrate-store -h\" for help)", err, progName)
	}
	if fl.NArg() > 0 {
		return fmt.Errorf("migrate-store: unexpected argument %q", fl.Arg(0))
	}
	if *from == "" || *to == "" {
		return fmt.Errorf("migrate-store: --from and --to are required (run \"%s migrate-store -h\" for help)", progName)
	}
	if migrate.SameStore(*from, *to) {
		return errors.New("migrate-store: --from and --to name the same store")
	}

	opt := migrate.Options{Workers: *workers}
	if !*quiet {
		opt.Progress = stderr
	}
	toS3 := sc.Bucket != ""
	switch {
	case *toBlobs != "" && toS3:
		return errors.New("migrate-store: give --to-blobs or --to-s3-bucket, not both")
	case *fromBlobs == "" && (*toBlobs != "" || toS3):
		return errors.New("migrate-store: copying crate files needs --from-blobs DIR")
	case *fromBlobs != "" && *toBlobs == "" && !toS3:
		return errors.New("migrate-store: --from-blobs needs --to-blobs DIR or --to-s3-bucket NAME")
	}
	if *fromBlobs != "" {
		if fi, err := os.Stat(*fromBlobs); err != nil || !fi.IsDir() {
			return fmt.Errorf("migrate-store: --from-blobs %s is not a directory", *fromBlobs)
		}
		if opt.SrcBlobs, err = fs.New(*fromBlobs); err != nil {
			return fmt.Errorf("migrate-store: --from-blobs: %w", err)
		}
	}
	if *toBlobs != "" {
		if opt.DstBlobs, err = fs.New(*toBlobs); err != nil {
			return fmt.Errorf("migrate-store: --to-blobs: %w", err)
		}
	}
	if toS3 {
		if sc.AccessKey, err = flagOrFile("--to-s3-access-key", sc.AccessKey, accessFile); err != nil {
			return err
		}
		if sc.SecretKey, err = flagOrFile("--to-s3-secret-key", "", secretFile); err != nil {
			return err
		}
		if pathStyle != "" {
			b, err := strconv.ParseBool(pathStyle)
			if err != nil {
				return fmt.Errorf("migrate-store: --to-s3-path-style must be true or false")
			}
			sc.PathStyle = &b
		}
		if opt.DstBlobs, err = s3.New(ctx, sc); err != nil {
			return fmt.Errorf("migrate-store: --to-s3-*: %w", err)
		}
	}

	src, err := migrate.OpenStore(ctx, *from, true)
	if err != nil {
		return fmt.Errorf("migrate-store: --from: %w", err)
	}
	defer src.Close()
	dst, err := migrate.OpenStore(ctx, *to, false)
	if err != nil {
		return fmt.Errorf("migrate-store: --to: %w", err)
	}
	defer dst.Close()

	if *verifyOnly {
		if err := migrate.Verify(ctx, src, dst, opt); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "verified: the target holds what the source holds")
		return nil
	}
	st, err := migrate.Copy(ctx, src, dst, opt)
	if st != nil {
		printStats(stdout, st)
	}
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("migrate-store interrupted; run the same command again to resume: %w", err)
		}
		return err
	}
	if err := migrate.Verify(ctx, src, dst, opt); err != nil {
		return err
	}
	msg := "verified: crate, version and user counts match, every version's checksum matches"
	if opt.DstBlobs != nil {
		msg += ", every crate file in the target hashes to its key"
	}
	fmt.Fprintln(stdout, msg)
	return nil
}

// flagOrFile returns value, or the trimmed content of file when it is set.
func flagOrFile(name, value, file string) (string, error) {
	if file == "" {
		return value, nil
	}
	if value != "" {
		return "", fmt.Errorf("migrate-store: give %s or %s-file, not both", name, name)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("migrate-store: %s-file: %w", name, err)
	}
	v := strings.TrimSpace(string(b))
	if v == "" {
		return "", fmt.Errorf("migrate-store: %s-file %s is empty", name, file)
	}
	return v, nil
}

func printStats(w io.Writer, st *migrate.Stats) {
	fmt.Fprintf(w, "users:    %d created, %d updated, %d already there\n", st.UsersCreated, st.UsersUpdated, st.UsersPresent)
	fmt.Fprintf(w, "tokens:   %d copied, %d revoked, %d already there\n", st.TokensCopied, st.TokensRevoked, st.TokensPresent)
	fmt.Fprintf(w, "crates:   %d created\n", st.CratesCreated)
	fmt.Fprintf(w, "versions: %d copied, %d already there; %d yanked flags set\n", st.VersionsCopied, st.VersionsPresent, st.YanksChanged)
	fmt.Fprintf(w, "owners:   %d added, %d removed\n", st.OwnersAdded, st.OwnersRemoved)
	fmt.Fprintf(w, "downloads: %d added\n", st.Downloads)
	fmt.Fprintf(w, "files:    %d copied, %d already there\n", st.BlobsCopied, st.BlobsPresent)
}

// Command scaleout is bench/scaleout.sh's helper for the S3 side of the
// scale-out benchmark: it creates the run's bucket before crated starts and
// empties and removes it afterwards.
//
//	scaleout bucket-create -endpoint URL -bucket NAME -access-key-file F -secret-key-file F
//	scaleout bucket-remove -endpoint URL -bucket NAME -access-key-file F -secret-key-file F
//
// Credentials come from files, never from the command line, so that they do
// not show in ps. The endpoint must be on this machine: the benchmark runs
// over loopback only.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// timeout bounds a whole command: emptying the bucket of a benchmark run
// (some thousands of objects on loopback) takes seconds.
const timeout = 5 * time.Minute

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := run(ctx, os.Args[1:]); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "scaleout:", err)
		}
		os.Exit(1)
	}
}

const usage = `usage:
  scaleout bucket-create -endpoint URL -bucket NAME -access-key-file F -secret-key-file F
  scaleout bucket-remove -endpoint URL -bucket NAME -access-key-file F -secret-key-file F`

func run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, usage)
		return errors.New("no command given")
	}
	cmd := args[0]
	if cmd != "bucket-create" && cmd != "bucket-remove" {
		fmt.Fprintln(os.Stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}
	fs := flag.NewFlagSet("scaleout "+cmd, flag.ContinueOnError)
	endpoint := fs.String("endpoint", "", "http:// URL of the S3 server (loopback only)")
	bucket := fs.String("bucket", "", "bucket name")
	accessFile := fs.String("access-key-file", "", "file holding the S3 access key")
	secretFile := fs.String("secret-key-file", "", "file holding the S3 secret key")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *bucket == "" {
		return errors.New("-bucket is required")
	}
	client, err := newClient(*endpoint, *accessFile, *secretFile)
	if err != nil {
		return err
	}
	if cmd == "bucket-create" {
		if err := client.MakeBucket(ctx, *bucket, minio.MakeBucketOptions{}); err != nil {
			return fmt.Errorf("creating bucket %s: %w", *bucket, err)
		}
		return nil
	}
	n, err := removeBucket(ctx, client, *bucket)
	if err != nil {
		return fmt.Errorf("removing bucket %s: %w", *bucket, err)
	}
	fmt.Fprintf(os.Stderr, "scaleout: removed bucket %s and its %d objects\n", *bucket, n)
	return nil
}

func newClient(endpoint, accessFile, secretFile string) (*minio.Client, error) {
	u, err := url.Parse(endpoint)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("-endpoint %q is not an http:// URL", endpoint)
	}
	if !loopback(u.Hostname()) {
		return nil, fmt.Errorf("-endpoint %s is not on this machine: the benchmark runs over loopback only", u.Host)
	}
	access, err := readSecret(accessFile, "-access-key-file")
	if err != nil {
		return nil, err
	}
	secret, err := readSecret(secretFile, "-secret-key-file")
	if err != nil {
		return nil, err
	}
	return minio.New(u.Host, &minio.Options{
		Creds:        credentials.NewStaticV4(access, secret, ""),
		BucketLookup: minio.BucketLookupPath,
	})
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// readSecret reads a credential file; its content never appears in an
// error message.
func readSecret(path, flagName string) (string, error) {
	if path == "" {
		return "", fmt.Errorf("%s is required", flagName)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%s: %w", flagName, err)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", fmt.Errorf("%s: the file is empty", flagName)
	}
	return s, nil
}

// removeBucket deletes every object of the bucket, then the bucket, and
// returns how many objects it deleted. A bucket that is already gone is
// not an error: cleanup may run twice.
func removeBucket(ctx context.Context, client *minio.Client, bucket string) (int, error) {
	ok, err := client.BucketExists(ctx, bucket)
	if err != nil || !ok {
		return 0, err
	}
	// The listing feeds the batch deletes (DeleteObjects, up to 1000 keys a
	// request) as it goes; a listing error ends the feed and is reported.
	n := 0
	var listErr error
	objects := func(yield func(minio.ObjectInfo) bool) {
		for obj := range client.ListObjectsIter(ctx, bucket, minio.ListObjectsOptions{Recursive: true}) {
			if obj.Err != nil {
				listErr = obj.Err
				return
			}
			n++
			if !yield(obj) {
				return
			}
		}
	}
	results, err := client.RemoveObjectsWithIter(ctx, bucket, objects, minio.RemoveObjectsOptions{})
	if err != nil {
		return 0, err
	}
	for res := range results {
		if res.Err != nil {
			return n, fmt.Errorf("object %s: %w", res.ObjectName, res.Err)
		}
	}
	if listErr != nil {
		return n, listErr
	}
	return n, client.RemoveBucket(ctx, bucket)
}

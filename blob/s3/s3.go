// Package s3 is a crated.BlobStore in an S3-compatible object store (AWS S3,
// MinIO, versitygw, Ceph RGW, ...): the store to use when several crated
// replicas must share crate files.
//
// A blob is the object Prefix + "crates/sha256/" + key in the bucket. An S3
// PUT is atomic: an object appears whole or not at all. Put never leaves a
// wrong or partial object under a key, on two grounds:
//
//   - the request carries the key as its x-amz-content-sha256, and the
//     server refuses a body that does not hash to it (AWS, MinIO and
//     versitygw do). This is what stops a body cut short by a failing
//     reader or connection: versitygw 1.8.0, for one, stores truncated
//     bodies of unsigned uploads.
//   - the content is verified before the server could accept it: content
//     that can be read twice (a bytes.Reader, a file) is hashed before
//     anything is sent; other readers stream through a blob.Verifier, which
//     withholds the last byte until the content is known to be right.
//
// The credentials need to list, read, write and delete objects in the
// bucket. Listing matters beyond Walk: without it S3 answers 403 instead of
// 404 for a missing object, and ENOTFOUND could not be told apart.
package s3

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/s3utils"

	"github.com/crated/crated"
	"github.com/crated/crated/blob"
)

// Config says where the blobs live. The zero values of the optional fields
// are the defaults.
type Config struct {
	// Endpoint is the server's host[:port], or a URL "http://host[:port]" or
	// "https://host[:port]" whose scheme then decides Secure. Empty means
	// AWS S3 (s3.amazonaws.com, over https).
	Endpoint string
	// Region is the bucket's region. Empty lets the client ask the server
	// (once per bucket) where needed.
	Region string
	Bucket string
	// AccessKey and SecretKey are the static credentials. When both are
	// empty, the AWS defaults are used: AWS_ACCESS_KEY_ID and
	// AWS_SECRET_ACCESS_KEY, the shared credentials file, then the
	// instance's or container's IAM role.
	AccessKey string
	SecretKey string
	// Prefix is put in front of every object name, so that one bucket can
	// hold several registries; a "/" is added when it lacks one.
	Prefix string
	// PathStyle selects path-style requests (https://host/bucket/key) over
	// virtual-hosted ones (https://bucket.host/key). Nil means path style,
	// except on AWS, which chooses by itself.
	PathStyle *bool
	// Secure selects https when Endpoint has no scheme.
	Secure bool
	// RedirectDownloads makes RedirectURL hand out presigned URLs, so that
	// downloads go straight to the object store.
	RedirectDownloads bool
	// PresignTTL is how long a presigned URL stays valid: 5 minutes by
	// default, at most 7 days.
	PresignTTL time.Duration
	// Timeout is the longest the store may keep crated waiting: for the
	// answer to a request, retries included, and, within a transfer, for
	// the next bytes; not for a whole transfer, which may take as long as
	// it keeps moving. DefaultTimeout when zero.
	Timeout time.Duration
	// MaxRetries is how many times a failed request is tried again (a
	// failure to connect, a 5xx answer); DefaultMaxRetries when nil.
	MaxRetries *int
}

// DefaultTimeout and DefaultMaxRetries are Config.Timeout and
// Config.MaxRetries unless set. minio-go alone waits 60 s for an answer and
// tries ten times, so a stalled store held requests for minutes.
const (
	DefaultTimeout    = 30 * time.Second
	DefaultMaxRetries = 2
	maxRetriesLimit   = 10
)

// DefaultPresignTTL is the lifetime of presigned download URLs unless
// Config.PresignTTL says otherwise. Cargo follows the redirect at once; the
// URL only needs to outlive a slow start.
const DefaultPresignTTL = 5 * time.Minute

// objectDir is the part of object names between the prefix and the key.
const objectDir = "crates/sha256/"

// Store is a blob store in an S3 bucket.
type Store struct {
	client   *minio.Client
	bucket   string
	prefix   string // Config.Prefix + objectDir
	server   string // scheme://host of the endpoint, for messages
	redirect bool
	ttl      time.Duration
	timeout  time.Duration
}

var (
	_ crated.BlobStore      = (*Store)(nil)
	_ crated.BlobRedirector = (*Store)(nil)
)

// New connects to the bucket and checks at once that the endpoint answers
// like an S3 server, that the credentials are accepted and that the bucket
// exists and can be listed, so that a wrong setting fails at start with an
// error naming it rather than on the first publish.
func New(ctx context.Context, cfg Config) (_ *Store, err error) {
	defer crated.Wrap(&err, "s3.New")
	host, secure, err := parseEndpoint(cfg)
	if err != nil {
		return nil, err
	}
	if cfg.Bucket == "" {
		return nil, crated.Errorf(crated.EINVALID, "s3 bucket is not set")
	}
	if err := s3utils.CheckValidBucketNameStrict(cfg.Bucket); err != nil {
		return nil, crated.Errorf(crated.EINVALID, "s3 bucket name %q is not valid: %v", cfg.Bucket, err)
	}
	if (cfg.AccessKey == "") != (cfg.SecretKey == "") {
		return nil, crated.Errorf(crated.EINVALID, "s3 access key and secret key must be set together")
	}
	ttl := cfg.PresignTTL
	if ttl == 0 {
		ttl = DefaultPresignTTL
	}
	if ttl < time.Second || ttl > 7*24*time.Hour {
		return nil, crated.Errorf(crated.EINVALID, "s3 presign TTL %v is out of range: 1s to 7 days", cfg.PresignTTL)
	}

	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	if timeout < 0 {
		return nil, crated.Errorf(crated.EINVALID, "s3 timeout %v is negative", cfg.Timeout)
	}
	retries := DefaultMaxRetries
	if cfg.MaxRetries != nil {
		retries = *cfg.MaxRetries
	}
	if retries < 0 || retries > maxRetriesLimit {
		return nil, crated.Errorf(crated.EINVALID, "s3 max retries %d is out of range: 0 to %d", retries, maxRetriesLimit)
	}

	lookup := minio.BucketLookupPath
	if cfg.PathStyle == nil && s3utils.IsAmazonEndpoint(url.URL{Host: host}) {
		lookup = minio.BucketLookupAuto
	} else if cfg.PathStyle != nil && !*cfg.PathStyle {
		lookup = minio.BucketLookupDNS
	}
	creds := credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, "")
	if cfg.AccessKey == "" {
		creds = credentials.NewChainCredentials([]credentials.Provider{
			&credentials.EnvAWS{},
			&credentials.FileAWSCredentials{},
			&credentials.IAM{},
		})
	}
	// minio-go keeps 16 idle connections per host; concurrent downloads
	// streamed through crated need more, or every burst opens and closes
	// connections.
	transport, err := minio.DefaultTransport(secure)
	if err != nil {
		return nil, crated.Errorf(crated.EINVALID, "s3 transport: %v", err)
	}
	transport.MaxIdleConns = 512
	transport.MaxIdleConnsPerHost = 256
	// Each attempt of a request waits at most the timeout for each of
	// its steps; the calls below also bound the whole request.
	transport.DialContext = (&net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}).DialContext
	transport.TLSHandshakeTimeout = timeout
	transport.ResponseHeaderTimeout = timeout
	opts := func(attempts int) *minio.Options {
		return &minio.Options{
			Transport:    transport,
			Creds:        creds,
			Secure:       secure,
			Region:       cfg.Region,
			BucketLookup: lookup,
			MaxRetries:   attempts, // minio-go counts the first try
		}
	}
	client, err := minio.New(host, opts(1+retries))
	if err != nil {
		return nil, crated.Errorf(crated.EINVALID, "s3 endpoint %q: %v", host, err)
	}
	s := &Store{
		client:   client,
		bucket:   cfg.Bucket,
		prefix:   normalizePrefix(cfg.Prefix) + objectDir,
		server:   client.EndpointURL().Scheme + "://" + host,
		redirect: cfg.RedirectDownloads,
		ttl:      ttl,
		timeout:  timeout,
	}
	// The start check must fail fast on a wrong endpoint instead of
	// retrying for many seconds, so it uses a client without retries.
	probe, err := minio.New(host, opts(1))
	if err != nil {
		return nil, err
	}
	if err := s.check(ctx, probe); err != nil {
		return nil, err
	}
	return s, nil
}

// parseEndpoint returns the host[:port] to connect to and whether to use
// https.
func parseEndpoint(cfg Config) (host string, secure bool, err error) {
	ep := strings.TrimSpace(cfg.Endpoint)
	if ep == "" {
		return "s3.amazonaws.com", true, nil
	}
	if !strings.Contains(ep, "://") {
		if strings.ContainsAny(ep, "/?#@") {
			return "", false, crated.Errorf(crated.EINVALID, "s3 endpoint must be host[:port] or http(s)://host[:port], without path or credentials")
		}
		return ep, cfg.Secure, nil
	}
	u, err := url.Parse(ep)
	if err != nil {
		// The parse error quotes the URL, which could hold credentials.
		return "", false, crated.Errorf(crated.EINVALID, "s3 endpoint is not a valid URL")
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", false, crated.Errorf(crated.EINVALID, "s3 endpoint scheme %q is not http or https", u.Scheme)
	case u.User != nil:
		return "", false, crated.Errorf(crated.EINVALID, "s3 endpoint must not contain credentials; use the access key and secret key settings")
	case u.Host == "":
		return "", false, crated.Errorf(crated.EINVALID, "s3 endpoint %q has no host", ep)
	case (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "":
		return "", false, crated.Errorf(crated.EINVALID, "s3 endpoint %q must not have a path or query; the bucket and prefix have their own settings", ep)
	}
	return u.Host, u.Scheme == "https", nil
}

// normalizePrefix drops leading slashes and makes a non-empty prefix end in
// one, so that "team-a" and "team-a/" mean the same.
func normalizePrefix(p string) string {
	p = strings.TrimLeft(p, "/")
	if p != "" && !strings.HasSuffix(p, "/") {
		p += "/"
	}
	return p
}

// check lists at most one object of the store, which exercises everything a
// store needs at once: the endpoint, the credentials, the region, the bucket
// and the permission to list. A GET (unlike HEAD) returns an error body
// whose code tells these apart.
func (s *Store) check(ctx context.Context, probe *minio.Client) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.timeout)
		defer cancel()
	}
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var err error
	for obj := range probe.ListObjectsIter(lctx, s.bucket, minio.ListObjectsOptions{Prefix: s.prefix, MaxKeys: 1}) {
		err = obj.Err
		break
	}
	if err != nil {
		return s.startError(ctx, err)
	}
	// The listing parser accepts any XML, or none, so a web server that
	// answers 200 to everything passes it. An S3 server says that an
	// object which cannot exist (keys are hex) does not exist.
	_, err = probe.StatObject(ctx, s.bucket, s.prefix+".crated-start-check", minio.StatObjectOptions{})
	switch {
	case codeOf(err) == minio.NoSuchKey:
		return nil
	case err == nil, codeOf(err) == minio.InternalError && statusOf(err) == 0:
		// minio-go reports a 200 without S3's headers (Last-Modified,
		// ...) as an InternalError of its own, without HTTP status.
		return crated.Errorf(crated.EINVALID, "the server at %s does not answer like an S3 server (check the s3 endpoint)", s.server)
	}
	return s.startError(ctx, err)
}

// startError turns an error of the start check into a message that names
// the setting to fix.
func (s *Store) startError(ctx context.Context, err error) error {
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return crated.Errorf(crated.EUNAVAILABLE, "the S3 server at %s did not answer in time", s.server)
	}
	var resp minio.ErrorResponse
	if errors.As(err, &resp) {
		return s.describe(resp)
	}
	var tlsErr tls.RecordHeaderError
	if errors.As(err, &tlsErr) || strings.Contains(err.Error(), "server gave HTTP response to HTTPS client") {
		return crated.Errorf(crated.EINVALID, "the S3 server at %s does not speak https; use an http:// endpoint", s.server)
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return crated.Errorf(crated.EUNAVAILABLE, "cannot reach the S3 server at %s: %v", s.server, unwrapURLError(err))
	}
	// Mostly an answer that is not S3's XML: a web server, not an S3
	// endpoint.
	return crated.Errorf(crated.EINVALID, "the server at %s does not answer like an S3 server (check the s3 endpoint): %v", s.server, unwrapURLError(err))
}

// describe turns the error of the start check into a message that names the
// setting to fix. Server messages are left out: they are not ours to vouch
// for, and some quote request details.
func (s *Store) describe(resp minio.ErrorResponse) error {
	b := s.bucket
	switch resp.Code {
	case minio.NoSuchBucket:
		return crated.Errorf(crated.EINVALID, "s3 bucket %q does not exist at %s (check the s3 bucket, and that the s3 endpoint is an S3 server)", b, s.server)
	case minio.InvalidAccessKeyID, "XAdminUserNotFound": // the second is versitygw's
		return crated.Errorf(crated.EINVALID, "the S3 server at %s does not know the access key (check the s3 access key)", s.server)
	case minio.SignatureDoesNotMatch:
		return crated.Errorf(crated.EINVALID, "the S3 server at %s rejected the request signature: the secret key does not match the access key (check the s3 secret key)", s.server)
	case minio.AccessDenied, "AllAccessDisabled", "AccountProblem":
		return crated.Errorf(crated.EINVALID, "the S3 credentials may not list bucket %q at %s (crated needs to list, read, write and delete objects there)", b, s.server)
	case minio.InvalidRegion, minio.AuthorizationHeaderMalformed, "PermanentRedirect", "IllegalLocationConstraintException":
		if resp.Region != "" {
			return crated.Errorf(crated.EINVALID, "s3 bucket %q is in region %q (check the s3 region)", b, resp.Region)
		}
		return crated.Errorf(crated.EINVALID, "s3 bucket %q is in another region (check the s3 region)", b)
	case minio.RequestTimeTooSkewed:
		return crated.Errorf(crated.EINVALID, "the S3 server at %s refuses requests because this machine's clock is off", s.server)
	case minio.InvalidBucketName:
		return crated.Errorf(crated.EINVALID, "the S3 server at %s refuses the bucket name %q", s.server, b)
	}
	if resp.StatusCode == http.StatusServiceUnavailable || resp.StatusCode == http.StatusBadGateway || resp.StatusCode == http.StatusGatewayTimeout {
		return crated.Errorf(crated.EUNAVAILABLE, "the S3 server at %s is unavailable (HTTP %d)", s.server, resp.StatusCode)
	}
	return crated.Errorf(crated.EINVALID, "the S3 server at %s refused to list bucket %q: %s (HTTP %d)", s.server, b, resp.Code, resp.StatusCode)
}

// unwrapURLError drops the *url.Error around a transport error: it repeats
// the request URL, which says nothing the message does not.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func (s *Store) object(key string) string { return s.prefix + key }

// deadline bounds one request to the store, retries included, by the
// timeout.
func (s *Store) deadline(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeoutCause(ctx, s.timeout, errTimeout)
}

// Put stores the content of r under key. The content must hash to key and,
// when size is not negative, have size bytes (EINVALID otherwise). A key that
// is already stored with that size is not rewritten, but the content is
// still read and verified. On any failure, what was stored before stays as it
// was.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64) (err error) {
	defer crated.Wrap(&err, "s3.Put(%q)", key)
	if err := blob.CheckKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	name := s.object(key)
	if size >= 0 {
		sctx, cancel := s.deadline(ctx)
		info, err := s.client.StatObject(sctx, s.bucket, name, minio.StatObjectOptions{})
		cancel()
		switch {
		case err == nil && info.Size == size:
			return blob.NewVerifier(r, key, size).Drain()
		case err != nil && codeOf(err) != minio.NoSuchKey:
			return translate(sctx, err)
		}
	}

	var (
		body io.Reader
		n    int64
		v    *blob.Verifier // set when the content is verified as it is sent
	)
	if ra, ok := r.(readerAtSeeker); ok {
		// Content that can be read twice (the usual bytes.Reader) is
		// verified before anything is sent, and sent from a seekable
		// reader, so that the client can retry a failed request.
		start, err := ra.Seek(0, io.SeekCurrent)
		if err != nil {
			return err
		}
		pre := blob.NewVerifier(io.NewSectionReader(ra, start, math.MaxInt64-start), key, size)
		if err := pre.Drain(); err != nil {
			return err
		}
		body, n = io.NewSectionReader(ra, start, pre.N()), pre.N()
	} else if size <= 0 {
		// The request needs the length up front, and with a zero length
		// net/http would never read the body to verify it: read it all.
		content, err := io.ReadAll(blob.NewVerifier(r, key, size))
		if err != nil {
			return err
		}
		body, n = bytes.NewReader(content), int64(len(content))
	} else {
		v = blob.NewVerifier(r, key, size)
		body, n = v, size
	}
	// The upload may take as long as it keeps moving: the store's time is
	// bounded between reads of the body and for its answer.
	pctx, wd := newWatchdog(ctx, s.timeout)
	defer wd.stop()
	_, err = minio.Core{Client: s.client}.PutObject(pctx, s.bucket, name, newUploadBody(body, wd), n, "", key, minio.PutObjectOptions{
		ContentType: "application/gzip", // a .crate is a gzipped tarball
		// Send the key as x-amz-content-sha256 rather than signing the
		// body in chunks, so that the server verifies the content and
		// refuses a wrong or truncated body.
		DisableContentSha256: true,
	})
	if v != nil {
		// The Verifier's verdict comes first: when the content was
		// wrong or the reader failed, the upload failed because of it,
		// and that is the error to report.
		if verr := v.Err(); verr != nil {
			return verr
		}
	}
	if err != nil {
		return translate(pctx, err)
	}
	if v != nil && !v.Done() {
		return fmt.Errorf("upload of %d bytes ended before the content was read to its end", n)
	}
	return nil
}

// readerAtSeeker is content that Put can read twice.
type readerAtSeeker interface {
	io.ReaderAt
	io.Seeker
}

// Open returns the blob stored under key, ENOTFOUND if absent. Reads go
// through ctx, so the blob is for use within the request that opened it.
//
// Open sends one GET, whose answer says whether the object exists and how
// large it is, and starts its content: no HEAD first. A Seek elsewhere
// than where the content is read sends a ranged GET at the next Read.
func (s *Store) Open(ctx context.Context, key string) (_ crated.Blob, err error) {
	defer crated.Wrap(&err, "s3.Open(%q)", key)
	if err := blob.CheckKey(key); err != nil {
		return nil, err
	}
	o := &object{s: s, ctx: ctx, name: s.object(key)}
	if err := o.get(0); err != nil {
		return nil, err
	}
	return o, nil
}

// object is an open blob.
type object struct {
	s       *Store
	ctx     context.Context
	name    string
	size    int64
	modTime time.Time
	pos     int64 // the reader's position

	// The answer of the last GET: its body, positioned at bodyPos, the
	// context of its request and that context's watchdog. body is nil
	// when there is none.
	body    io.ReadCloser
	bodyPos int64
	bctx    context.Context
	wd      *watchdog
}

func (o *object) Size() int64        { return o.size }
func (o *object) ModTime() time.Time { return o.modTime }

// get sends a GET for the content from offset at; the first one, at 0,
// also learns the size and the modification time.
func (o *object) get(at int64) error {
	o.drop()
	ctx, wd := newWatchdog(o.ctx, o.s.timeout)
	opts := minio.GetObjectOptions{}
	if at > 0 {
		if err := opts.SetRange(at, 0); err != nil {
			wd.stop()
			return err
		}
	}
	body, info, _, err := minio.Core{Client: o.s.client}.GetObject(ctx, o.s.bucket, o.name, opts)
	if err != nil {
		wd.stop()
		return translate(ctx, err)
	}
	wd.pause() // until the content is read
	if at == 0 {
		o.size, o.modTime = info.Size, info.LastModified
	}
	o.body, o.bodyPos, o.bctx, o.wd = body, at, ctx, wd
	return nil
}

// drop closes the answer of the last GET.
func (o *object) drop() {
	if o.body != nil {
		o.body.Close()
		o.wd.stop()
		o.body, o.wd = nil, nil
	}
}

func (o *object) Read(p []byte) (int, error) {
	if o.pos >= o.size {
		return 0, io.EOF
	}
	if o.body == nil || o.bodyPos != o.pos {
		if err := o.get(o.pos); err != nil {
			return 0, err
		}
	}
	// Only the wait for the store counts, not the time the caller takes
	// between two reads.
	o.wd.wait()
	n, err := o.body.Read(p)
	o.wd.pause()
	o.pos += int64(n)
	o.bodyPos += int64(n)
	switch {
	case err == io.EOF && o.pos < o.size:
		o.drop()
		return n, io.ErrUnexpectedEOF
	case err == io.EOF:
		return n, io.EOF
	case err != nil:
		err = translate(o.bctx, err)
		o.drop()
		return n, err
	}
	return n, nil
}

func (o *object) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += o.pos
	case io.SeekEnd:
		offset += o.size
	default:
		return o.pos, errors.New("s3: invalid whence")
	}
	if offset < 0 {
		return o.pos, errors.New("s3: negative position")
	}
	o.pos = offset
	return offset, nil
}

func (o *object) Close() error {
	o.drop()
	return nil
}

// Stat returns the size of the blob stored under key, ENOTFOUND if absent.
func (s *Store) Stat(ctx context.Context, key string) (_ int64, err error) {
	defer crated.Wrap(&err, "s3.Stat(%q)", key)
	if err := blob.CheckKey(key); err != nil {
		return 0, err
	}
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	info, err := s.client.StatObject(ctx, s.bucket, s.object(key), minio.StatObjectOptions{})
	if err != nil {
		return 0, translate(ctx, err)
	}
	return info.Size, nil
}

// Delete removes the blob stored under key; an absent key is not an error.
func (s *Store) Delete(ctx context.Context, key string) (err error) {
	defer crated.Wrap(&err, "s3.Delete(%q)", key)
	if err := blob.CheckKey(key); err != nil {
		return err
	}
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	err = s.client.RemoveObject(ctx, s.bucket, s.object(key), minio.RemoveObjectOptions{})
	if err != nil && codeOf(err) != minio.NoSuchKey {
		return translate(ctx, err)
	}
	return nil
}

// Walk calls fn for every stored key, skipping objects under the prefix
// whose names are not keys.
func (s *Store) Walk(ctx context.Context, fn func(key string) error) (err error) {
	defer crated.Wrap(&err, "s3.Walk")
	// The listing may take as long as it keeps coming; the stop also
	// ends it when fn fails.
	lctx, wd := newWatchdog(ctx, s.timeout)
	defer wd.stop()
	for obj := range s.client.ListObjectsIter(lctx, s.bucket, minio.ListObjectsOptions{Prefix: s.prefix, Recursive: true}) {
		if obj.Err != nil {
			return translate(lctx, obj.Err)
		}
		key, ok := strings.CutPrefix(obj.Key, s.prefix)
		if !ok || !blob.ValidKey(key) {
			continue
		}
		wd.pause()
		err := fn(key)
		wd.wait()
		if err != nil {
			return err
		}
	}
	return ctx.Err()
}

// Ping reports whether the bucket is reachable.
func (s *Store) Ping(ctx context.Context) (err error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	ok, err := s.client.BucketExists(ctx, s.bucket)
	if err == nil && !ok {
		err = fmt.Errorf("bucket %q does not exist", s.bucket)
	}
	if err != nil {
		return errors.Join(crated.Errorf(crated.EUNAVAILABLE, "crate file storage is unavailable"), fmt.Errorf("s3.Ping: %w", err))
	}
	return nil
}

// RedirectURL returns a presigned GET URL for the blob, valid for the
// configured TTL, whose response names the download filename; "" when
// redirects are disabled. It does not check that the blob exists: the
// caller found it in the metadata store.
func (s *Store) RedirectURL(ctx context.Context, key, filename string) (_ string, err error) {
	defer crated.Wrap(&err, "s3.RedirectURL(%q)", key)
	if !s.redirect {
		return "", nil
	}
	if err := blob.CheckKey(key); err != nil {
		return "", err
	}
	params := url.Values{}
	if filename != "" {
		// FormatMediaType quotes, or RFC 2231-encodes, as the name needs.
		cd := mime.FormatMediaType("attachment", map[string]string{"filename": filename})
		if cd == "" {
			return "", crated.Errorf(crated.EINVALID, "invalid download file name")
		}
		params.Set("response-content-disposition", cd)
	}
	// Presigning is local, but may first ask the server for the
	// bucket's region.
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	u, err := s.client.PresignedGetObject(ctx, s.bucket, s.object(key), s.ttl, params)
	if err != nil {
		return "", translate(ctx, err)
	}
	return u.String(), nil
}

// statusOf returns the HTTP status of an S3 error, 0 if it has none.
func statusOf(err error) int {
	var resp minio.ErrorResponse
	if errors.As(err, &resp) {
		return resp.StatusCode
	}
	return 0
}

// codeOf returns the S3 error code of err, "" if it has none.
func codeOf(err error) string {
	var resp minio.ErrorResponse
	if errors.As(err, &resp) {
		return resp.Code
	}
	return ""
}

// translate maps an error of a request made under ctx to the crated
// vocabulary: a missing object is ENOTFOUND; a store that failed (any 5xx,
// throttling, a vanished bucket, a network failure) or that did not answer
// within the timeout is EUNAVAILABLE, the same for every operation, with
// the cause kept in the chain for the log. The caller's own cancellation
// stays as it is; anything else stays internal.
func translate(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	unavailable := func(msg string) error {
		return errors.Join(crated.Errorf(crated.EUNAVAILABLE, "%s", msg), err)
	}
	if errors.Is(context.Cause(ctx), errTimeout) {
		return unavailable("crate file storage did not answer in time")
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var resp minio.ErrorResponse
	if errors.As(err, &resp) {
		switch {
		case resp.Code == minio.NoSuchKey:
			return crated.Errorf(crated.ENOTFOUND, "crate file not found")
		case resp.StatusCode >= 500,
			resp.Code == minio.NoSuchBucket, resp.Code == "SlowDown", resp.Code == "ServiceUnavailable",
			resp.Code == "RequestTimeout", resp.Code == "InternalError":
			return unavailable("crate file storage is unavailable")
		}
		return err
	}
	var netErr net.Error
	if errors.As(err, &netErr) || errors.Is(err, io.ErrUnexpectedEOF) {
		return unavailable("crate file storage is unavailable")
	}
	return err
}

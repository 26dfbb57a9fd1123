package backup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"golang.org/x/sync/errgroup"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// S3Prefix starts the key of every object of a world's backups:
// "worlds/<world id>/<backup id>.tar.gz" and ".json".
const S3Prefix = "worlds/"

// Bounds of the parts of a multipart upload. S3 takes at most 10,000 parts
// of at least 5 MiB each (but the last); with the default 8 MiB parts a
// backup may reach 78 GiB.
const (
	MinPartSize     = 5 << 20
	MaxPartSize     = 512 << 20
	DefaultPartSize = 8 << 20
	maxParts        = 10_000
)

// LinkLife is how long a download link of a backup works.
const LinkLife = 15 * time.Minute

// S3 keeps backups in a bucket (WORLD_S3_BUCKET). An archive of at most
// one part is put whole; a larger one is sent as a multipart upload, parts
// in flight at once bounded, so memory stays at most (Uploads+1) parts
// whatever the world's size. An upload that fails is aborted, and S3 shows
// no object of an upload that was not completed. The archive's description
// ("<backup id>.json", with its checksum, sizes and reason) is put after
// the archive is complete: only a backup with both is listed.
type S3 struct {
	client   *s3.Client
	presign  *s3.PresignClient
	bucket   string
	partSize int
	uploads  int
}

var _ Store = (*S3)(nil)

// S3Options tunes the uploads of an S3 store.
type S3Options struct {
	// PartSize is the size of the parts of a multipart upload, between
	// MinPartSize and MaxPartSize; 0 means DefaultPartSize.
	PartSize int
	// Uploads is how many parts are sent at once, 1 to 8; 0 means 2.
	Uploads int
}

// NewS3 returns the store of backups in bucket, through client (a client
// for a custom endpoint, such as AWS_ENDPOINT_URL_S3, needs UsePathStyle).
func NewS3(client *s3.Client, bucket string, opt S3Options) (*S3, error) {
	if bucket == "" {
		return nil, errors.New("s3 backups: no bucket")
	}
	if opt.PartSize == 0 {
		opt.PartSize = DefaultPartSize
	}
	if opt.PartSize < MinPartSize || opt.PartSize > MaxPartSize {
		return nil, fmt.Errorf("s3 backups: part size %d is not between %d and %d bytes", opt.PartSize, MinPartSize, MaxPartSize)
	}
	if opt.Uploads == 0 {
		opt.Uploads = 2
	}
	if opt.Uploads < 1 || opt.Uploads > 8 {
		return nil, fmt.Errorf("s3 backups: %d parts at once is not between 1 and 8", opt.Uploads)
	}
	return &S3{client: client, presign: s3.NewPresignClient(client), bucket: bucket, partSize: opt.PartSize, uploads: opt.Uploads}, nil
}

func worldPrefix(worldID string) string { return S3Prefix + worldID + "/" }

func (s *S3) key(worldID, backupID, ext string) string {
	return worldPrefix(worldID) + backupID + ext
}

// Create begins a backup; nothing is sent until a part is full or Commit.
func (s *S3) Create(ctx context.Context, worldID, backupID string) (Upload, error) {
	if err := errors.Join(spawner.ValidWorldID(worldID), spawner.ValidBackupID(backupID)); err != nil {
		return nil, err
	}
	uctx, cancel := context.WithCancel(ctx)
	u := &s3Upload{s: s, ctx: uctx, cancel: cancel, worldID: worldID, id: backupID,
		key: s.key(worldID, backupID, archiveExt), free: make(chan []byte, s.uploads+1)}
	for range s.uploads + 1 {
		u.free <- nil // buffers are made when first needed: a small world needs one
	}
	return u, nil
}

// s3Upload is one archive being sent. Write and Commit are called from one
// goroutine; the parts are sent by goroutines it owns, which Commit and
// Abort wait for.
type s3Upload struct {
	s       *S3
	ctx     context.Context // the parts' context, cancelled at the first error
	cancel  context.CancelFunc
	worldID string
	id      string
	key     string

	buf      []byte      // the part being filled
	free     chan []byte // buffers not being sent (nil until made)
	uploadID string      // empty until a second part is needed
	next     int32       // number of the next part
	wg       sync.WaitGroup

	mu    sync.Mutex
	parts []types.CompletedPart
	err   error

	completed bool // the archive object exists
	done      bool // listed, or aborted
}

func (u *s3Upload) fail(err error) {
	u.mu.Lock()
	if u.err == nil {
		u.err = err
	}
	u.mu.Unlock()
	u.cancel()
}

func (u *s3Upload) failed() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.err
}

func (u *s3Upload) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		if err := u.failed(); err != nil {
			return written, err
		}
		if u.buf != nil && len(u.buf) == cap(u.buf) {
			// A full part and more to come: it is not the last one.
			if err := u.send(); err != nil {
				return written, err
			}
		}
		if u.buf == nil {
			select {
			case b := <-u.free:
				if b == nil {
					b = make([]byte, 0, u.s.partSize)
				}
				u.buf = b[:0]
			case <-u.ctx.Done():
				return written, errors.Join(u.failed(), u.ctx.Err())
			}
		}
		n := copy(u.buf[len(u.buf):cap(u.buf)], p)
		u.buf = u.buf[:len(u.buf)+n]
		p = p[n:]
		written += n
	}
	return written, nil
}

// send hands the current buffer to a goroutine that uploads it as the next
// part, beginning the multipart upload before the first one.
func (u *s3Upload) send() error {
	if u.uploadID == "" {
		out, err := u.s.client.CreateMultipartUpload(u.ctx, &s3.CreateMultipartUploadInput{
			Bucket:            &u.s.bucket,
			Key:               &u.key,
			ContentType:       aws.String("application/gzip"),
			ChecksumAlgorithm: types.ChecksumAlgorithmCrc32,
			Metadata:          map[string]string{"world": u.worldID, "backup": u.id},
		})
		if err != nil {
			u.fail(fmt.Errorf("begin upload of %s: %w", u.key, err))
			return u.failed()
		}
		u.uploadID = aws.ToString(out.UploadId)
	}
	if u.next == maxParts {
		err := fmt.Errorf("backup %s: more than %d parts of %d bytes", u.id, maxParts, u.s.partSize)
		u.fail(err)
		return err
	}
	u.next++
	num, part := u.next, u.buf
	u.buf = nil
	u.wg.Go(func() {
		defer func() { u.free <- part[:0] }()
		out, err := u.s.client.UploadPart(u.ctx, &s3.UploadPartInput{
			Bucket:            &u.s.bucket,
			Key:               &u.key,
			UploadId:          &u.uploadID,
			PartNumber:        aws.Int32(num),
			Body:              bytes.NewReader(part),
			ContentLength:     aws.Int64(int64(len(part))),
			ChecksumAlgorithm: types.ChecksumAlgorithmCrc32,
		})
		if err != nil {
			u.fail(fmt.Errorf("upload part %d of %s: %w", num, u.key, err))
			return
		}
		u.mu.Lock()
		u.parts = append(u.parts, types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(num), ChecksumCRC32: out.ChecksumCRC32})
		u.mu.Unlock()
	})
	return nil
}

func (u *s3Upload) Commit(ctx context.Context, b spawner.Backup) error {
	if u.done || u.completed {
		return errors.New("backup already committed or aborted")
	}
	desc, err := encodeMeta(b)
	if err != nil {
		return err
	}
	if err := u.failed(); err != nil {
		return err
	}
	if u.uploadID == "" {
		// One part at most: put whole.
		_, err = u.s.client.PutObject(ctx, &s3.PutObjectInput{
			Bucket:        &u.s.bucket,
			Key:           &u.key,
			Body:          bytes.NewReader(u.buf),
			ContentLength: aws.Int64(int64(len(u.buf))),
			ContentType:   aws.String("application/gzip"),
			Metadata:      map[string]string{"world": u.worldID, "backup": u.id},
		})
		if err != nil {
			return fmt.Errorf("put %s: %w", u.key, err)
		}
	} else {
		if len(u.buf) > 0 {
			if err := u.send(); err != nil {
				return err
			}
		}
		u.wg.Wait()
		if err := u.failed(); err != nil {
			return err
		}
		slices.SortFunc(u.parts, func(a, b types.CompletedPart) int { return int(*a.PartNumber - *b.PartNumber) })
		_, err = u.s.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
			Bucket:          &u.s.bucket,
			Key:             &u.key,
			UploadId:        &u.uploadID,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: u.parts},
		})
		if err != nil {
			return fmt.Errorf("complete upload of %s: %w", u.key, err)
		}
	}
	u.completed = true
	_, err = u.s.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        &u.s.bucket,
		Key:           aws.String(u.s.key(u.worldID, u.id, metaExt)),
		Body:          bytes.NewReader(desc),
		ContentLength: aws.Int64(int64(len(desc))),
		ContentType:   aws.String("application/json"),
	})
	if err != nil {
		return fmt.Errorf("put the description of %s: %w", u.key, err)
	}
	u.done = true
	u.cancel()
	return nil
}

// Abort stops the parts under way and drops what was sent: the multipart
// upload is aborted, or the archive deleted if it was complete but not yet
// described. It uses a context of its own, as the backup's may be over.
func (u *s3Upload) Abort() error {
	if u.done {
		return nil
	}
	u.done = true
	u.cancel()
	u.wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	switch {
	case u.completed:
		_, err := u.s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &u.s.bucket, Key: &u.key})
		return err
	case u.uploadID != "":
		_, err := u.s.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &u.s.bucket, Key: &u.key, UploadId: &u.uploadID})
		return err
	}
	return nil
}

// Check lists at most one key under S3Prefix: what `spawner check` asks,
// since the roles of the bot and of the companion may list the bucket
// under that prefix only (HeadBucket, which has no prefix, is refused to
// them). It reads and changes nothing else.
func (s *S3) Check(ctx context.Context) error {
	_, err := s.client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &s.bucket, Prefix: aws.String(S3Prefix), MaxKeys: aws.Int32(1)})
	if err != nil {
		return fmt.Errorf("list %s in bucket %s: %w", S3Prefix, s.bucket, err)
	}
	return nil
}

// object is what a listing says of one object.
type object struct {
	key      string
	modified time.Time
}

// objects lists the world's objects by name (without the world's prefix).
func (s *S3) objects(ctx context.Context, worldID string) (map[string]object, error) {
	objs := map[string]object{}
	pages := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{Bucket: &s.bucket, Prefix: aws.String(worldPrefix(worldID))})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", worldPrefix(worldID), err)
		}
		for _, o := range page.Contents {
			key := aws.ToString(o.Key)
			objs[strings.TrimPrefix(key, worldPrefix(worldID))] = object{key: key, modified: aws.ToTime(o.LastModified)}
		}
	}
	return objs, nil
}

// List returns the world's backups that have both their archive and their
// description; a description that cannot be read is left out.
func (s *S3) List(ctx context.Context, worldID string) ([]spawner.Backup, error) {
	if err := spawner.ValidWorldID(worldID); err != nil {
		return nil, err
	}
	objs, err := s.objects(ctx, worldID)
	if err != nil {
		return nil, err
	}
	var (
		mu   sync.Mutex
		list []spawner.Backup
	)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for name := range objs {
		id, ok := strings.CutSuffix(name, metaExt)
		if !ok || spawner.ValidBackupID(id) != nil {
			continue
		}
		if _, ok := objs[id+archiveExt]; !ok {
			continue
		}
		g.Go(func() error {
			b, err := s.meta(gctx, worldID, id)
			if errors.Is(err, spawner.ErrNotFound) || errors.Is(err, errDescription) {
				return nil // deleted meanwhile, or damaged: not listed
			}
			if err != nil {
				return err
			}
			mu.Lock()
			list = append(list, b)
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	newestFirst(list)
	return list, nil
}

var errDescription = errors.New("unreadable description")

func (s *S3) meta(ctx context.Context, worldID, backupID string) (spawner.Backup, error) {
	key := s.key(worldID, backupID, metaExt)
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: &key})
	if notFound(err) {
		return spawner.Backup{}, fmt.Errorf("backup %s of world %s: %w", backupID, worldID, spawner.ErrNotFound)
	}
	if err != nil {
		return spawner.Backup{}, fmt.Errorf("get %s: %w", key, err)
	}
	defer out.Body.Close()
	data, err := io.ReadAll(io.LimitReader(out.Body, 64<<10))
	if err != nil {
		return spawner.Backup{}, fmt.Errorf("get %s: %w", key, err)
	}
	b, err := decodeMeta(data, worldID, backupID)
	if err != nil {
		return spawner.Backup{}, fmt.Errorf("%w: %w", errDescription, err)
	}
	return b, nil
}

func notFound(err error) bool {
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "NoSuchKey", "NotFound":
			return true
		}
	}
	return false
}

// Open streams the archive of a listed backup from the bucket.
func (s *S3) Open(ctx context.Context, worldID, backupID string) (io.ReadCloser, spawner.Backup, error) {
	if err := errors.Join(spawner.ValidWorldID(worldID), spawner.ValidBackupID(backupID)); err != nil {
		return nil, spawner.Backup{}, err
	}
	b, err := s.meta(ctx, worldID, backupID)
	if err != nil {
		return nil, spawner.Backup{}, err
	}
	key := s.key(worldID, backupID, archiveExt)
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: &key})
	if notFound(err) {
		return nil, spawner.Backup{}, fmt.Errorf("backup %s of world %s: %w", backupID, worldID, spawner.ErrNotFound)
	}
	if err != nil {
		return nil, spawner.Backup{}, fmt.Errorf("get %s: %w", key, err)
	}
	return out.Body, b, nil
}

// Link returns a presigned link that downloads the archive of a listed
// backup as filename, and works for LinkLife.
func (s *S3) Link(ctx context.Context, worldID, backupID, filename string) (string, error) {
	if err := errors.Join(spawner.ValidWorldID(worldID), spawner.ValidBackupID(backupID)); err != nil {
		return "", err
	}
	if _, err := s.meta(ctx, worldID, backupID); err != nil {
		return "", err
	}
	req, err := s.presign.PresignGetObject(ctx, &s3.GetObjectInput{
		Bucket:                     &s.bucket,
		Key:                        aws.String(s.key(worldID, backupID, archiveExt)),
		ResponseContentDisposition: aws.String(`attachment; filename="` + safeFilename(filename) + `"`),
		ResponseContentType:        aws.String("application/gzip"),
	}, s3.WithPresignExpires(LinkLife))
	if err != nil {
		return "", fmt.Errorf("presign %s: %w", backupID, err)
	}
	return req.URL, nil
}

// safeFilename keeps letters, digits, '.', '-' and '_' of name.
func safeFilename(name string) string {
	name = strings.Map(func(r rune) rune {
		switch {
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9', r == '.', r == '-', r == '_':
			return r
		}
		return -1
	}, name)
	if name == "" {
		return "world.tar.gz"
	}
	return name
}

// Delete removes the description first (the backup is no longer listed),
// then the archive.
func (s *S3) Delete(ctx context.Context, worldID, backupID string) error {
	if err := errors.Join(spawner.ValidWorldID(worldID), spawner.ValidBackupID(backupID)); err != nil {
		return err
	}
	for _, ext := range []string{metaExt, archiveExt} {
		key := s.key(worldID, backupID, ext)
		if _, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: &key}); err != nil && !notFound(err) {
			return fmt.Errorf("delete %s: %w", key, err)
		}
	}
	return nil
}

// Sweep removes, among what was last changed before the given time,
// archives without a description, descriptions without an archive, and
// unfinished multipart uploads of the world.
func (s *S3) Sweep(ctx context.Context, worldID string, before time.Time) error {
	if err := spawner.ValidWorldID(worldID); err != nil {
		return err
	}
	objs, err := s.objects(ctx, worldID)
	if err != nil {
		return err
	}
	var errs []error
	for name, o := range objs {
		var orphan bool
		switch {
		case strings.HasSuffix(name, archiveExt):
			_, described := objs[strings.TrimSuffix(name, archiveExt)+metaExt]
			orphan = !described
		case strings.HasSuffix(name, metaExt):
			_, archived := objs[strings.TrimSuffix(name, metaExt)+archiveExt]
			orphan = !archived
		}
		if !orphan || !o.modified.Before(before) {
			continue
		}
		if _, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: &o.key}); err != nil && !notFound(err) {
			errs = append(errs, fmt.Errorf("delete %s: %w", o.key, err))
		}
	}
	pages := s3.NewListMultipartUploadsPaginator(s.client, &s3.ListMultipartUploadsInput{Bucket: &s.bucket, Prefix: aws.String(worldPrefix(worldID))})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			errs = append(errs, fmt.Errorf("list uploads of %s: %w", worldPrefix(worldID), err))
			break
		}
		for _, up := range page.Uploads {
			if !aws.ToTime(up.Initiated).Before(before) {
				continue
			}
			if _, err := s.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &s.bucket, Key: up.Key, UploadId: up.UploadId}); err != nil && !notFound(err) {
				errs = append(errs, fmt.Errorf("abort upload of %s: %w", aws.ToString(up.Key), err))
			}
		}
	}
	return errors.Join(errs...)
}

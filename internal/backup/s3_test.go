package backup

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/testworld/fakes3"
)

const bucket = "spawner-worlds"

func newS3Keeper(tb testing.TB, keep int) (*Keeper, *fakes3.Server, *s3.Client) {
	tb.Helper()
	fake := fakes3.Start(tb)
	fake.Bucket(tb, bucket)
	client := fake.Client(tb)
	store, err := NewS3(client, bucket, S3Options{PartSize: MinPartSize})
	if err != nil {
		tb.Fatal(err)
	}
	return &Keeper{Store: store, Keep: keep, Now: newClock().now}, fake, client
}

// keys lists the bucket's objects and unfinished uploads.
func keys(tb testing.TB, client *s3.Client) (objects, uploads []string) {
	tb.Helper()
	ctx := context.Background()
	out, err := client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	if err != nil {
		tb.Fatal(err)
	}
	for _, o := range out.Contents {
		objects = append(objects, aws.ToString(o.Key))
	}
	ups, err := client.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(bucket)})
	if err != nil {
		tb.Fatal(err)
	}
	for _, u := range ups.Uploads {
		uploads = append(uploads, aws.ToString(u.Key))
	}
	slices.Sort(objects)
	return objects, uploads
}

func count(requests []string, prefix string) int {
	n := 0
	for _, r := range requests {
		if strings.HasPrefix(r, prefix) {
			n++
		}
	}
	return n
}

func TestS3RoundTrip(t *testing.T) {
	ctx := context.Background()
	k, fake, client := newS3Keeper(t, 5)
	src := filepath.Join(t.TempDir(), "world")
	makeWorld(t, src, "s3")
	b, err := k.Backup(ctx, worldID, spawner.BackupManual, Dir(src))
	if err != nil {
		t.Fatal(err)
	}
	objects, _ := keys(t, client)
	want := []string{"worlds/" + worldID + "/" + b.ID + ".json", "worlds/" + worldID + "/" + b.ID + ".tar.gz"}
	if !slices.Equal(objects, want) {
		t.Fatalf("objects %v, want %v", objects, want)
	}
	if n := count(fake.Requests(), "POST /"+bucket+"/worlds/"+worldID+"/"+b.ID+".tar.gz?uploads"); n != 0 {
		t.Errorf("a world smaller than a part was sent in %d multipart uploads", n)
	}
	list, err := k.List(ctx, worldID)
	if err != nil || len(list) != 1 || list[0] != b {
		t.Fatalf("listed %+v (%v), want %+v", list, err, b)
	}
	dst := filepath.Join(t.TempDir(), "world")
	if _, err := k.RestoreDir(ctx, worldID, b.ID, dst); err != nil {
		t.Fatal(err)
	}
	assertSameTree(t, treeOf(t, src), treeOf(t, dst))
}

// randomWorld writes n bytes that do not compress into dir, in a few files.
func randomWorld(tb testing.TB, dir string, n int) {
	tb.Helper()
	r := rand.NewChaCha8([32]byte{1, 2, 3})
	for i := 0; n > 0; i++ {
		size := min(n, 3<<20)
		data := make([]byte, size)
		_, _ = r.Read(data)
		if err := os.MkdirAll(filepath.Join(dir, "region"), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "region", "r."+string(rune('a'+i))+".mca"), data, 0o644); err != nil {
			tb.Fatal(err)
		}
		n -= size
	}
}

func TestS3MultipartAndLink(t *testing.T) {
	ctx := context.Background()
	k, fake, client := newS3Keeper(t, 5)
	src := filepath.Join(t.TempDir(), "world")
	randomWorld(t, src, 2*MinPartSize+MinPartSize/2) // three parts, the last a half
	b, err := k.Backup(ctx, worldID, spawner.BackupStop, Dir(src))
	if err != nil {
		t.Fatal(err)
	}
	archive := "/" + bucket + "/worlds/" + worldID + "/" + b.ID + ".tar.gz"
	reqs := fake.Requests()
	if count(reqs, "POST "+archive+"?uploads") != 1 || count(reqs, "PUT "+archive+"?partNumber&uploadId") != 3 ||
		count(reqs, "POST "+archive+"?uploadId") != 1 {
		t.Fatalf("a %d-byte archive with %d-byte parts was not sent as one multipart upload of 3 parts: %v", b.Size, MinPartSize, reqs)
	}
	if _, uploads := keys(t, client); len(uploads) != 0 {
		t.Errorf("unfinished uploads left: %v", uploads)
	}
	dst := filepath.Join(t.TempDir(), "world")
	if _, err := k.Pull(ctx, worldID, dst); err != nil {
		t.Fatal(err)
	}
	assertSameTree(t, treeOf(t, src), treeOf(t, dst))

	// The download link a member gets: a plain GET, no credentials.
	link, err := k.Store.(*S3).Link(ctx, worldID, b.ID, "survival-"+b.ID+".tar.gz")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(link, "X-Amz-Expires=900") {
		t.Errorf("the link does not expire in 15 minutes: %s", link)
	}
	resp, err := http.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	h := sha256.New()
	n, err := io.Copy(h, resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("download: %s, %v", resp.Status, err)
	}
	if n != b.Size || hex.EncodeToString(h.Sum(nil)) != b.SHA256 {
		t.Fatalf("downloaded %d bytes that do not match the backup's checksum (%d recorded)", n, b.Size)
	}
	if _, err := k.Store.(*S3).Link(ctx, worldID, "20261207T120000000Z-0000", "x.tar.gz"); !errors.Is(err, spawner.ErrNotFound) {
		t.Errorf("a link to a backup that does not exist: %v", err)
	}
}

func TestS3FailedUploadIsAborted(t *testing.T) {
	ctx := context.Background()
	k, fake, client := newS3Keeper(t, 5)
	src := filepath.Join(t.TempDir(), "world")
	makeWorld(t, src, "older")
	older, err := k.Backup(ctx, worldID, spawner.BackupStop, Dir(src))
	if err != nil {
		t.Fatal(err)
	}
	before, _ := keys(t, client)

	randomWorld(t, filepath.Join(src, "big"), 3*MinPartSize)
	fake.FailWhen(func(r *http.Request) bool { return r.URL.Query().Get("partNumber") == "2" })
	_, err = k.Backup(ctx, worldID, spawner.BackupStop, Dir(src))
	if err == nil || !strings.Contains(err.Error(), "upload part 2") {
		t.Fatalf("a backup whose second part failed returned %v", err)
	}
	fake.FailWhen(nil)
	objects, uploads := keys(t, client)
	if !slices.Equal(objects, before) || len(uploads) != 0 {
		t.Fatalf("after a failed upload: objects %v (before %v), unfinished uploads %v", objects, before, uploads)
	}
	if list, _ := k.List(ctx, worldID); len(list) != 1 || list[0] != older {
		t.Fatalf("after a failed upload, listed %+v", list)
	}
	if n := count(fake.Requests(), "DELETE /"+bucket+"/worlds/"+worldID+"/"); n != 1 {
		t.Errorf("%d DELETE requests, want the one abort of the upload", n)
	}

	// The description failing after the archive was complete: the archive
	// is removed, nothing listed.
	fake.FailWhen(func(r *http.Request) bool {
		return r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, ".json")
	})
	if _, err := k.Backup(ctx, worldID, spawner.BackupStop, Dir(src)); err == nil {
		t.Fatal("a backup whose description could not be put succeeded")
	}
	fake.FailWhen(nil)
	if objects, _ := keys(t, client); !slices.Equal(objects, before) {
		t.Fatalf("after a failed description: objects %v, before %v", objects, before)
	}
}

func TestS3PruneDeleteSweep(t *testing.T) {
	ctx := context.Background()
	k, _, client := newS3Keeper(t, 2)
	src := t.TempDir()
	makeWorld(t, src, "p")
	var ids []string
	for range 4 {
		b, err := k.Backup(ctx, worldID, spawner.BackupStop, Dir(src))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, b.ID)
	}
	objects, _ := keys(t, client)
	want := []string{}
	for _, id := range ids[2:] {
		want = append(want, "worlds/"+worldID+"/"+id+".json", "worlds/"+worldID+"/"+id+".tar.gz")
	}
	if !slices.Equal(objects, want) {
		t.Fatalf("after 4 backups keeping 2: %v, want %v", objects, want)
	}

	if err := k.Delete(ctx, worldID, ids[3]); err != nil {
		t.Fatal(err)
	}
	if list, _ := k.List(ctx, worldID); len(list) != 1 || list[0].ID != ids[2] {
		t.Fatalf("after a delete, listed %+v", list)
	}

	// What a SIGKILLed companion leaves: an unfinished upload, and an
	// archive completed but never described.
	stray := "worlds/" + worldID + "/20261207T120000000Z-dead.tar.gz"
	if _, err := client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(stray)}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(stray), Body: strings.NewReader("half")}); err != nil {
		t.Fatal(err)
	}
	if list, _ := k.List(ctx, worldID); len(list) != 1 {
		t.Fatalf("an undescribed archive is listed: %+v", list)
	}
	if err := k.Store.Sweep(ctx, worldID, time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	objects, uploads := keys(t, client)
	if len(objects) != 2 || len(uploads) != 0 {
		t.Fatalf("after a sweep: objects %v, uploads %v", objects, uploads)
	}

	if err := k.DeleteWorld(ctx, worldID); err != nil {
		t.Fatal(err)
	}
	if objects, uploads := keys(t, client); len(objects)+len(uploads) != 0 {
		t.Fatalf("after deleting the world: objects %v, uploads %v", objects, uploads)
	}
}

func TestNewS3RefusesBadSizes(t *testing.T) {
	client := s3.New(s3.Options{Region: fakes3.Region})
	for _, opt := range []S3Options{{PartSize: MinPartSize - 1}, {PartSize: MaxPartSize + 1}, {Uploads: 9}, {Uploads: -1}} {
		if _, err := NewS3(client, bucket, opt); err == nil {
			t.Errorf("NewS3 accepted %+v", opt)
		}
	}
	if _, err := NewS3(client, "", S3Options{}); err == nil {
		t.Error("NewS3 accepted no bucket")
	}
}

// TestS3PushUnderTheWorldTaskRole: the ECS companion's role may not
// delete: its push writes the new backup and removes nothing, beyond
// WORLD_BACKUPS_KEEP too; the bot prunes later. Push, which prunes, is
// refused the prune under that role but keeps its backup.
func TestS3PushUnderTheWorldTaskRole(t *testing.T) {
	ctx := context.Background()
	k, fake, client := newS3Keeper(t, 1)
	src := filepath.Join(t.TempDir(), "world")
	makeWorld(t, src, "role")
	older, err := k.Write(ctx, worldID, spawner.BackupStop, Dir(src))
	if err != nil {
		t.Fatal(err)
	}
	fake.DenyWhen(fakes3.WorldTaskDenies)

	b, err := k.PushWithoutPrune(ctx, worldID, src)
	if err != nil {
		t.Fatalf("push without prune under the world task role: %v", err)
	}
	if b.Reason != spawner.BackupStop || b.Size == 0 || b.SHA256 == "" {
		t.Errorf("pushed %+v, want a described backup of reason stop", b)
	}
	if list, _ := k.List(ctx, worldID); len(list) != 2 || list[0].ID != b.ID || list[1].ID != older.ID {
		t.Fatalf("after a push keeping 1, listed %+v: want the new one and the older one, nothing pruned", list)
	}
	for _, r := range fake.Requests() {
		if strings.HasPrefix(r, "DELETE ") || strings.HasSuffix(r, "?uploads") && strings.HasPrefix(r, "GET ") {
			t.Errorf("the push asked %s, which the world task role may not", r)
		}
	}

	_, err = k.Push(ctx, worldID, src)
	if !errors.Is(err, ErrPrune) {
		t.Fatalf("Push under the world task role: %v, want its prune refused (ErrPrune)", err)
	}
	if list, _ := k.List(ctx, worldID); len(list) != 3 {
		t.Fatalf("after a push whose prune was refused, listed %d backups, want 3", len(list))
	}

	// The bot's role may prune.
	fake.DenyWhen(fakes3.BotDenies)
	if err := k.Prune(ctx, worldID); err != nil {
		t.Fatalf("prune under the bot's role: %v", err)
	}
	fake.DenyWhen(nil)
	if objects, _ := keys(t, client); len(objects) != 2 {
		t.Fatalf("after the bot's prune keeping 1: %v", objects)
	}
}

// TestS3Check: `spawner check` lists one key under worlds/, which both
// roles may; a bucket that is not there is told.
func TestS3Check(t *testing.T) {
	ctx := context.Background()
	k, fake, _ := newS3Keeper(t, 1)
	fake.DenyWhen(fakes3.BotDenies)
	if err := k.Store.(*S3).Check(ctx); err != nil {
		t.Fatalf("check under the bot's role: %v", err)
	}
	if got := fake.Requests(); !slices.Equal(got, []string{"GET /" + bucket + "?list-type&max-keys&prefix"}) {
		t.Errorf("check asked %v, want one ListObjectsV2", got)
	}
	other, err := NewS3(fake.Client(t), "no-such-bucket", S3Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Check(ctx); err == nil || !strings.Contains(err.Error(), "no-such-bucket") || !strings.Contains(err.Error(), "NoSuchBucket") {
		t.Errorf("check of a missing bucket: %v", err)
	}
}

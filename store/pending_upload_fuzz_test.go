package store_test

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/auth"
	"github.com/leadmailer/leadmailer/store"
	"github.com/leadmailer/leadmailer/store/storetest"
)

// Whatever bytes an upload brings, in whatever sizes they arrive, they are read back as they
// came; a key of any text is counted under its own hash.
func FuzzPendingUpload(f *testing.F) {
	f.Add([]byte("email,name\nx@example.com,\"Ä\"\n"), uint16(3), "login pair\x00anna\x00192.0.2.1")
	f.Add(bytes.Repeat([]byte{0, 0xff, '\n', '"'}, store.PendingUploadChunk/4+1), uint16(65535), "")
	f.Add([]byte{}, uint16(0), "\xff\xfe")
	db := storetest.Open(f, nil)
	ctx := context.Background()
	user := &leadmailer.User{Name: "fuzz", Role: leadmailer.RoleMarketer, PasswordHash: "x"}
	if err := db.CreateUser(ctx, user); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte, step uint16, key string) {
		u := &store.PendingUpload{ID: auth.NewToken()[:22], UserID: user.ID, FileName: "f.csv", Source: "s", Kind: leadmailer.KindUpload}
		if err := db.CreatePendingUpload(ctx, u, 1); err != nil {
			t.Fatal(err)
		}
		w := db.WritePendingUpload(ctx, u.ID)
		for rest := data; len(rest) > 0; {
			n := min(len(rest), int(step)+1)
			if _, err := w.Write(rest[:n]); err != nil {
				t.Fatal(err)
			}
			rest = rest[n:]
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		got, err := db.FindPendingUpload(ctx, u.ID, user.ID)
		if err != nil || got.Size != int64(len(data)) {
			t.Fatalf("found %+v, %v; want size %d", got, err, len(data))
		}
		r, err := db.OpenPendingUpload(ctx, got)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		var back bytes.Buffer
		buf := make([]byte, 2*store.PendingUploadChunk)
		for {
			n, err := r.Read(buf)
			back.Write(buf[:n])
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(back.Bytes(), data) {
			t.Fatalf("read back %d bytes, differing from the %d written", back.Len(), len(data))
		}

		c, err := db.AddThrottleCount(ctx, key, throttleT0, 60e9)
		if err != nil {
			t.Fatal(err)
		}
		found, err := db.FindThrottleCounts(ctx, throttleT0, key)
		if err != nil || found[key].Count != c.Count {
			t.Fatalf("key %q: found %+v, %v; want count %d", key, found, err, c.Count)
		}
	})
}

package store_test

import (
	"bytes"
	"context"
	"io"
	"maps"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/store"
	"github.com/leadmailer/leadmailer/store/storetest"
)

// A pending upload stored through one handle is found, read back byte for byte and changed
// through another (the preview on another process); one claim wins; a user keeps at most
// keep of them; expired ones go with their chunks.
func TestPendingUploadsAcrossHandles(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			a := b.Open(t, nil)
			other := storetest.Reopen(t, a, nil)
			user := &leadmailer.User{Name: "anna", Role: leadmailer.RoleMarketer, PasswordHash: "x"}
			if err := a.CreateUser(ctx, user); err != nil {
				t.Fatal(err)
			}
			u := &store.PendingUpload{ID: "up1", UserID: user.ID, FileName: "fair.csv", Source: "fair",
				Kind: leadmailer.KindUpload, CreatedAt: throttleT0}
			if err := a.CreatePendingUpload(ctx, u, 3); err != nil {
				t.Fatal(err)
			}
			if _, err := other.FindPendingUpload(ctx, "up1", user.ID); leadmailer.ErrorCode(err) != leadmailer.ENOTFOUND {
				t.Errorf("found before its file was whole: %v", err)
			}
			file := bytes.Repeat([]byte("email,name\nx@example.com,\"Ä, B\"\n"), store.PendingUploadChunk/16) // two chunks and a part
			w := a.WritePendingUpload(ctx, "up1")
			if _, err := io.CopyBuffer(w, bytes.NewReader(file), make([]byte, 7777)); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			got, err := other.FindPendingUpload(ctx, "up1", user.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Size != int64(len(file)) || got.FileName != "fair.csv" || got.Source != "fair" || !got.CreatedAt.Equal(throttleT0) {
				t.Errorf("found %+v", got)
			}
			f, err := other.OpenPendingUpload(ctx, got)
			if err != nil {
				t.Fatal(err)
			}
			back, err := io.ReadAll(f)
			f.Close()
			if err != nil || !bytes.Equal(back, file) {
				t.Fatalf("read back %d bytes (%v), want the %d stored", len(back), err, len(file))
			}
			if _, err := a.FindPendingUpload(ctx, "up1", user.ID+1); leadmailer.ErrorCode(err) != leadmailer.ENOTFOUND {
				t.Errorf("another user's find: %v, want not found", err)
			}

			got.Encoding, got.Delimiter, got.Map = "windows-1252", ";", map[string]string{"E-Mail": "email"}
			if err := other.UpdatePendingUpload(ctx, got); err != nil {
				t.Fatal(err)
			}
			again, err := a.FindPendingUpload(ctx, "up1", user.ID)
			if err != nil || again.Encoding != "windows-1252" || again.Delimiter != ";" || !maps.Equal(again.Map, got.Map) {
				t.Errorf("after the update: %+v, %v", again, err)
			}

			if err := a.ClaimPendingUpload(ctx, "up1", user.ID, throttleT0); err != nil {
				t.Fatal(err)
			}
			if err := other.ClaimPendingUpload(ctx, "up1", user.ID, throttleT0); leadmailer.ErrorCode(err) != leadmailer.ECONFLICT {
				t.Errorf("second claim: %v, want a conflict", err)
			}
			if err := other.UpdatePendingUpload(ctx, got); leadmailer.ErrorCode(err) != leadmailer.ECONFLICT {
				t.Errorf("update of a claimed upload: %v, want a conflict", err)
			}
			if err := a.ReleasePendingUpload(ctx, "up1"); err != nil {
				t.Fatal(err)
			}
			if _, err := other.FindPendingUpload(ctx, "up1", user.ID); err != nil {
				t.Errorf("released upload: %v", err)
			}

			for i, id := range []string{"up2", "up3", "up4"} {
				n := &store.PendingUpload{ID: id, UserID: user.ID, FileName: id + ".csv", Source: "s", Kind: leadmailer.KindUpload,
					CreatedAt: throttleT0.Add(time.Duration(i+1) * time.Hour)}
				if err := a.CreatePendingUpload(ctx, n, 3); err != nil {
					t.Fatal(err)
				}
				if err := a.WritePendingUpload(ctx, id).Close(); err != nil {
					t.Fatal(err)
				}
			}
			for id, want := range map[string]bool{"up1": false, "up2": true, "up3": true, "up4": true} {
				if _, err := a.FindPendingUpload(ctx, id, user.ID); (err == nil) != want {
					t.Errorf("%s kept: %v, want %v", id, err == nil, want)
				}
			}
			// An import that took up3 late still reads it: its upload expires a lifetime
			// after the claim, not after the upload.
			if err := a.ClaimPendingUpload(ctx, "up3", user.ID, throttleT0.Add(4*time.Hour)); err != nil {
				t.Fatal(err)
			}
			if n, err := other.DeleteExpiredPendingUploads(ctx, throttleT0.Add(3*time.Hour)); err != nil || n != 1 {
				t.Errorf("delete expired: %d, %v; want up2 only", n, err)
			}
			var kept int
			if err := storetest.Raw(t, a).QueryRowContext(ctx, `SELECT count(*) FROM pending_uploads WHERE id = 'up3'`).Scan(&kept); err != nil || kept != 1 {
				t.Errorf("the upload an import took: %d rows (%v), want it kept", kept, err)
			}
			if n, err := other.DeleteExpiredPendingUploads(ctx, throttleT0.Add(5*time.Hour)); err != nil || n != 2 {
				t.Errorf("delete expired later: %d, %v; want up3 and up4", n, err)
			}
			var chunks int
			if err := storetest.Raw(t, a).QueryRowContext(ctx, `SELECT count(*) FROM pending_upload_chunks`).Scan(&chunks); err != nil || chunks != 0 {
				t.Errorf("%d chunks left (%v), want the deleted uploads' chunks gone", chunks, err)
			}
			if !a.Postgres() {
				files, _ := os.ReadDir(filepath.Join(a.DataDir(), "pending-uploads"))
				if len(files) != 0 {
					t.Errorf("files left beside the database: %v, want none", files)
				}
			}
		})
	}
}

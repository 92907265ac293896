package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/leadmailer/leadmailer"
)

// PendingUploadChunk is the most bytes of an upload one row holds, and so the most a process
// holds in memory while it writes or reads one.
const PendingUploadChunk = 1 << 20

// PendingUpload is a CSV file uploaded in the web app, waiting for its user to check how it
// will be read and start the import. It is in the database, the file with it, so that the
// preview and the import may be answered by another serve process than the upload.
type PendingUpload struct {
	ID        string
	UserID    int64
	FileName  string
	Size      int64 // -1 while the file is being stored
	Source    string
	Kind      leadmailer.SourceKind
	Encoding  string            // "" to detect
	Delimiter string            // "" to detect
	Map       map[string]string // header -> field, as chosen on the preview page
	CreatedAt time.Time
}

// CreatePendingUpload stores u, with no file yet, and deletes the user's other pending
// uploads beyond the newest keep-1 that no import has taken: each may hold a file as large as
// the upload limit, and a user checks one at a time.
func (db *DB) CreatePendingUpload(ctx context.Context, u *PendingUpload, keep int) error {
	mapping, err := json.Marshal(u.Map)
	if err != nil {
		return fmt.Errorf("create pending upload: %w", err)
	}
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("create pending upload: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM pending_uploads WHERE user_id = ?1 AND claimed_at IS NULL
		AND id NOT IN (SELECT id FROM pending_uploads WHERE user_id = ?1 AND claimed_at IS NULL
			ORDER BY created_at DESC, id DESC LIMIT ?2)`, u.UserID, max(keep-1, 0)); err != nil {
		return fmt.Errorf("create pending upload: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO pending_uploads
		(id, user_id, file_name, size, source, kind, encoding, delimiter, mapping, created_at)
		VALUES (?, ?, ?, -1, ?, ?, ?, ?, ?, ?)`, u.ID, u.UserID, u.FileName, u.Source, string(u.Kind),
		u.Encoding, u.Delimiter, string(mapping), formatTime(u.CreatedAt)); err != nil {
		return fmt.Errorf("create pending upload: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("create pending upload: %w", err)
	}
	u.Size = -1
	return nil
}

// PendingUploadWriter stores the file of a pending upload a chunk at a time, each chunk in a
// statement of its own: the file arrives at the pace of the network, and SQLite's one writer
// must not wait for it.
type PendingUploadWriter struct {
	db  *DB
	ctx context.Context
	id  string
	buf []byte
	seq int
	n   int64
}

// WritePendingUpload returns a writer of pending upload id's file; Close stores the last
// chunk and the size, after which the upload can be found.
func (db *DB) WritePendingUpload(ctx context.Context, id string) *PendingUploadWriter {
	return &PendingUploadWriter{db: db, ctx: ctx, id: id}
}

func (w *PendingUploadWriter) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		if w.buf == nil {
			w.buf = make([]byte, 0, PendingUploadChunk)
		}
		k := min(len(p), PendingUploadChunk-len(w.buf))
		w.buf = append(w.buf, p[:k]...)
		p, written = p[k:], written+k
		if len(w.buf) == PendingUploadChunk {
			if err := w.flush(); err != nil {
				return written, err
			}
		}
	}
	return written, nil
}

func (w *PendingUploadWriter) flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	if _, err := w.db.sql.ExecContext(w.ctx, `INSERT INTO pending_upload_chunks (upload_id, seq, data) VALUES (?, ?, ?)`,
		w.id, w.seq, w.buf); err != nil {
		return fmt.Errorf("store upload chunk %d: %w", w.seq, err)
	}
	w.seq++
	w.n += int64(len(w.buf))
	w.buf = w.buf[:0]
	return nil
}

// Close stores what is left and the file's size.
func (w *PendingUploadWriter) Close() error {
	if err := w.flush(); err != nil {
		return err
	}
	res, err := w.db.sql.ExecContext(w.ctx, `UPDATE pending_uploads SET size = ? WHERE id = ?`, w.n, w.id)
	if err != nil {
		return fmt.Errorf("complete pending upload: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return leadmailer.Errorf(leadmailer.ENOTFOUND, "the upload is gone: it expired, or a newer upload replaced it")
	}
	return nil
}

// FindPendingUpload returns user userID's pending upload id, when its file is stored whole
// and no import has taken it.
func (db *DB) FindPendingUpload(ctx context.Context, id string, userID int64) (*PendingUpload, error) {
	u := &PendingUpload{ID: id, UserID: userID}
	var kind, mapping, created string
	err := db.sql.QueryRowContext(ctx, `SELECT file_name, size, source, kind, encoding, delimiter, mapping, created_at
		FROM pending_uploads WHERE id = ? AND user_id = ? AND size >= 0 AND claimed_at IS NULL`, id, userID).Scan(
		&u.FileName, &u.Size, &u.Source, &kind, &u.Encoding, &u.Delimiter, &mapping, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, leadmailer.Errorf(leadmailer.ENOTFOUND, "no pending upload %s", id)
	}
	if err != nil {
		return nil, fmt.Errorf("find pending upload: %w", err)
	}
	u.Kind = leadmailer.SourceKind(kind)
	if err := json.Unmarshal([]byte(mapping), &u.Map); err != nil {
		return nil, fmt.Errorf("pending upload %s: stored mapping: %w", id, err)
	}
	if u.CreatedAt, err = parseTime(created); err != nil {
		return nil, err
	}
	return u, nil
}

// UpdatePendingUpload stores u's source, kind, encoding, delimiter and mapping, as the user
// set them on the preview page. An upload an import has taken is not changed: ECONFLICT.
func (db *DB) UpdatePendingUpload(ctx context.Context, u *PendingUpload) error {
	mapping, err := json.Marshal(u.Map)
	if err != nil {
		return fmt.Errorf("update pending upload: %w", err)
	}
	res, err := db.sql.ExecContext(ctx, `UPDATE pending_uploads SET source = ?, kind = ?, encoding = ?, delimiter = ?, mapping = ?
		WHERE id = ? AND user_id = ? AND claimed_at IS NULL`, u.Source, string(u.Kind), u.Encoding, u.Delimiter,
		string(mapping), u.ID, u.UserID)
	if err != nil {
		return fmt.Errorf("update pending upload: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return leadmailer.Errorf(leadmailer.ECONFLICT, "this upload is already being imported")
	}
	return nil
}

// ClaimPendingUpload marks upload id as taken by an import at now, so that no other request,
// in this process or another, imports it too: ECONFLICT when one has.
func (db *DB) ClaimPendingUpload(ctx context.Context, id string, userID int64, now time.Time) error {
	res, err := db.sql.ExecContext(ctx, `UPDATE pending_uploads SET claimed_at = ?
		WHERE id = ? AND user_id = ? AND size >= 0 AND claimed_at IS NULL`, formatTime(now), id, userID)
	if err != nil {
		return fmt.Errorf("claim pending upload: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return leadmailer.Errorf(leadmailer.ECONFLICT, "this upload is already being imported")
	}
	return nil
}

// ReleasePendingUpload gives back an upload whose import did not start, for the user to
// change its settings and try again.
func (db *DB) ReleasePendingUpload(ctx context.Context, id string) error {
	if _, err := db.sql.ExecContext(ctx, `UPDATE pending_uploads SET claimed_at = NULL WHERE id = ?`, id); err != nil {
		return fmt.Errorf("release pending upload: %w", err)
	}
	return nil
}

// DeletePendingUpload deletes upload id and its file. Deleting one that is gone is not an
// error.
func (db *DB) DeletePendingUpload(ctx context.Context, id string) error {
	if _, err := db.sql.ExecContext(ctx, `DELETE FROM pending_uploads WHERE id = ?`, id); err != nil {
		return fmt.Errorf("delete pending upload: %w", err)
	}
	return nil
}

// DeleteExpiredPendingUploads deletes the pending uploads, and their files, created before
// createdBefore, taken by an import or not: an import that runs longer than that has its
// file open already. It returns how many it deleted.
func (db *DB) DeleteExpiredPendingUploads(ctx context.Context, createdBefore time.Time) (int64, error) {
	res, err := db.sql.ExecContext(ctx, `DELETE FROM pending_uploads WHERE created_at < ?`, formatTime(createdBefore))
	if err != nil {
		return 0, fmt.Errorf("delete expired pending uploads: %w", err)
	}
	return res.RowsAffected()
}

// OpenPendingUpload reads u's file, a chunk at a time. A chunk that is missing before
// u.Size bytes were read (the upload expired while it was read) is an error, not the end.
func (db *DB) OpenPendingUpload(ctx context.Context, u *PendingUpload) io.Reader {
	return &pendingUploadReader{db: db, ctx: ctx, id: u.ID, left: u.Size}
}

type pendingUploadReader struct {
	db   *DB
	ctx  context.Context
	id   string
	seq  int
	left int64 // bytes not yet read from the database
	buf  []byte
}

func (r *pendingUploadReader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		if r.left <= 0 {
			return 0, io.EOF
		}
		var data []byte
		err := r.db.sql.QueryRowContext(r.ctx, `SELECT data FROM pending_upload_chunks WHERE upload_id = ? AND seq = ?`,
			r.id, r.seq).Scan(&data)
		if errors.Is(err, sql.ErrNoRows) {
			return 0, leadmailer.Errorf(leadmailer.ENOTFOUND, "the uploaded file is gone after %d chunks: it expired", r.seq)
		}
		if err != nil {
			return 0, fmt.Errorf("read upload chunk %d: %w", r.seq, err)
		}
		r.buf, r.seq, r.left = data, r.seq+1, r.left-int64(len(data))
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/leadmailer/leadmailer"
)

// PendingUploadChunk is the most bytes of an upload one row holds, and so the most a process
// holds in memory while it writes or reads one.
const PendingUploadChunk = 1 << 20

// PendingUpload is a CSV file uploaded in the web app, waiting for its user to check how it
// will be read and start the import. It is in the database, so that the preview and the
// import may be answered by another serve process than the upload. Its file is in the
// database too on PostgreSQL, where each serve has a data directory of its own; on SQLite,
// whose database is a file in the one data directory every process on it uses, the file is
// beside it in DataDir/pending-uploads: written through the database, its chunks took
// 65 MB more of serve's memory (SQLite's page caches) and ten times as long.
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
	if !validUploadID(u.ID) {
		return fmt.Errorf("create pending upload: id %q is not a plain name", u.ID)
	}
	rows, err := tx.QueryContext(ctx, `DELETE FROM pending_uploads WHERE user_id = ?1 AND claimed_at IS NULL
		AND id NOT IN (SELECT id FROM pending_uploads WHERE user_id = ?1 AND claimed_at IS NULL
			ORDER BY created_at DESC, id DESC LIMIT ?2) RETURNING id`, u.UserID, max(keep-1, 0))
	if err != nil {
		return fmt.Errorf("create pending upload: %w", err)
	}
	replaced, err := scanIDs(rows)
	if err != nil {
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
	db.removeUploadFiles(replaced)
	u.Size = -1
	return nil
}

// validUploadID reports whether id can name a file: the web app's are random URL-safe text.
func validUploadID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func scanIDs(rows *sql.Rows) ([]string, error) {
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// uploadFile is where an upload's file is kept on SQLite.
func (db *DB) uploadFile(id string) string {
	return filepath.Join(db.dataDir, "pending-uploads", id+".csv")
}

// removeUploadFiles removes the files of deleted uploads; nothing on PostgreSQL, where the
// rows were the files.
func (db *DB) removeUploadFiles(ids []string) {
	if db.pg {
		return
	}
	for _, id := range ids {
		os.Remove(db.uploadFile(id))
	}
}

// PendingUploadWriter stores the file of a pending upload: on PostgreSQL a chunk at a time,
// each chunk in a statement of its own, as the file arrives at the pace of the network; on
// SQLite into its file.
type PendingUploadWriter struct {
	db   *DB
	ctx  context.Context
	id   string
	file *os.File // SQLite
	err  error    // from creating file
	buf  []byte
	seq  int
	n    int64
}

// WritePendingUpload returns a writer of pending upload id's file; Close stores the last
// chunk and the size, after which the upload can be found.
func (db *DB) WritePendingUpload(ctx context.Context, id string) *PendingUploadWriter {
	w := &PendingUploadWriter{db: db, ctx: ctx, id: id}
	if !db.pg {
		if w.err = os.MkdirAll(filepath.Dir(db.uploadFile(id)), 0o700); w.err == nil {
			w.file, w.err = os.OpenFile(db.uploadFile(id), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		}
	}
	return w
}

func (w *PendingUploadWriter) Write(p []byte) (int, error) {
	if !w.db.pg {
		if w.err != nil {
			return 0, fmt.Errorf("store upload: %w", w.err)
		}
		n, err := w.file.Write(p)
		w.n += int64(n)
		return n, err
	}
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

// Abort gives up writing without completing the upload: the caller deletes it. It closes
// the file on SQLite, which the deleted upload would otherwise keep open until the garbage
// collector found it.
func (w *PendingUploadWriter) Abort() {
	if w.file != nil {
		w.file.Close()
	}
}

// Close stores what is left and the file's size.
func (w *PendingUploadWriter) Close() error {
	if w.db.pg {
		if err := w.flush(); err != nil {
			return err
		}
	} else {
		if w.err != nil {
			return fmt.Errorf("store upload: %w", w.err)
		}
		if err := w.file.Close(); err != nil {
			return fmt.Errorf("store upload: %w", err)
		}
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
	db.removeUploadFiles([]string{id})
	return nil
}

// DeleteExpiredPendingUploads deletes the pending uploads, and their files, created before
// createdBefore, or for one an import has taken, taken before then: an import reads its
// upload as it goes (on PostgreSQL a chunk at a time) and deletes it when it ends, so only
// the upload of an import whose process died is left to expire. On SQLite it also removes
// the files older than that which no upload names, such as those of a user deleted with
// their uploads. It returns how many uploads it deleted.
func (db *DB) DeleteExpiredPendingUploads(ctx context.Context, createdBefore time.Time) (int64, error) {
	rows, err := db.sql.QueryContext(ctx, `DELETE FROM pending_uploads WHERE coalesce(claimed_at, created_at) < ? RETURNING id`, formatTime(createdBefore))
	if err != nil {
		return 0, fmt.Errorf("delete expired pending uploads: %w", err)
	}
	ids, err := scanIDs(rows)
	if err != nil {
		return 0, fmt.Errorf("delete expired pending uploads: %w", err)
	}
	db.removeUploadFiles(ids)
	if !db.pg {
		dir := filepath.Dir(db.uploadFile("x"))
		files, _ := os.ReadDir(dir)
		for _, f := range files {
			info, err := f.Info()
			if err != nil || !info.ModTime().Before(createdBefore) {
				continue
			}
			var n int
			id := strings.TrimSuffix(f.Name(), ".csv")
			if err := db.sql.QueryRowContext(ctx, `SELECT count(*) FROM pending_uploads WHERE id = ?`, id).Scan(&n); err == nil && n == 0 {
				os.Remove(filepath.Join(dir, f.Name()))
			}
		}
	}
	return int64(len(ids)), nil
}

// OpenPendingUpload reads u's file: on PostgreSQL a chunk at a time, where a chunk that is
// missing before u.Size bytes were read (the upload expired while it was read) is an error,
// not the end. The caller closes it.
func (db *DB) OpenPendingUpload(ctx context.Context, u *PendingUpload) (io.ReadCloser, error) {
	if !db.pg {
		f, err := os.Open(db.uploadFile(u.ID))
		if errors.Is(err, fs.ErrNotExist) {
			return nil, leadmailer.Errorf(leadmailer.ENOTFOUND, "the uploaded file is gone: it expired")
		}
		return f, err
	}
	return &pendingUploadReader{db: db, ctx: ctx, id: u.ID, left: u.Size}, nil
}

type pendingUploadReader struct {
	db   *DB
	ctx  context.Context
	id   string
	seq  int
	left int64 // bytes not yet read from the database
	own  []byte
	buf  []byte // what of own is not yet read
}

func (r *pendingUploadReader) Close() error { return nil }

func (r *pendingUploadReader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		if r.left <= 0 {
			return 0, io.EOF
		}
		if err := r.next(); err != nil {
			return 0, err
		}
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

// next reads the next chunk into the reader's own buffer, reused from chunk to chunk: a file
// of any size costs one chunk of memory, not a chunk of garbage per chunk.
func (r *pendingUploadReader) next() error {
	rows, err := r.db.sql.QueryContext(r.ctx, `SELECT data FROM pending_upload_chunks WHERE upload_id = ? AND seq = ?`, r.id, r.seq)
	if err != nil {
		return fmt.Errorf("read upload chunk %d: %w", r.seq, err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read upload chunk %d: %w", r.seq, err)
		}
		return leadmailer.Errorf(leadmailer.ENOTFOUND, "the uploaded file is gone after %d chunks: it expired", r.seq)
	}
	var raw sql.RawBytes
	if err := rows.Scan(&raw); err != nil {
		return fmt.Errorf("read upload chunk %d: %w", r.seq, err)
	}
	r.own = append(r.own[:0], raw...)
	r.buf, r.seq, r.left = r.own, r.seq+1, r.left-int64(len(raw))
	return rows.Close()
}

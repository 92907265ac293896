package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/leadmailer/leadmailer"
)

// Copying a whole database into an empty one of the other dialect (or the same): what
// "leadmailer migrate-data" runs. The list of tables, their columns and the order they are
// copied in come from the two schemas themselves, not from a list kept here, so that a table
// a later migration adds is copied without anyone remembering to add it. Both databases are
// migrated to the same version when they are opened; CopyTo checks that they agree, table by
// table and column by column, before it writes anything.

// copyBatchRows is how often, in rows, the copy of a table reports its progress.
const copyBatchRows = 10_000

// CopyProgress is where a copy stands: reported after every copyBatchRows rows of a table and
// once when the table is done.
type CopyProgress struct {
	Table   string
	Rows    int64         // rows of the table copied so far
	Total   int64         // rows the table holds in the source
	Elapsed time.Duration // since the table's copy began
	Done    bool          // the table is copied and committed
}

// RowsPerSecond is the table's copy rate so far.
func (p CopyProgress) RowsPerSecond() float64 {
	if p.Elapsed <= 0 {
		return 0
	}
	return float64(p.Rows) / p.Elapsed.Seconds()
}

// TableCount is how many rows a table holds.
type TableCount struct {
	Table string `json:"table"`
	Rows  int64  `json:"rows"`
}

// CopyReport is what CopyTo copied: every table in the order it went, with its rows, which
// the target was counted to hold after the copy.
type CopyReport struct {
	Tables  []TableCount  `json:"tables"`
	Rows    int64         `json:"rows"`
	Elapsed time.Duration `json:"elapsed_ns"`
}

// CopyOptions tune CopyTo.
type CopyOptions struct {
	// Progress, when set, is called as the copy goes (see CopyProgress).
	Progress func(CopyProgress)
}

// copySkipped are the tables CopyTo leaves: each database records its own migrations when it
// is opened, and the two must only agree on the version (which CopyTo checks).
var copySkipped = map[string]bool{"schema_migrations": true}

// CopyTo copies every row of every table of db into dst, keeping ids, and then checks that
// dst holds as many rows in each table as db. dst must be empty: a table of dst with a row in
// it stops the copy before anything is written, with an ECONFLICT error naming the table.
// dst must be opened without an audit key (see Options.AuditKey), since opening with one
// writes the record of where its chain is keyed, and the copy brings db's own record.
//
// db is read in one transaction, so the copy is of one moment's database; on SQLite and with
// the store's PostgreSQL writer lock that transaction also keeps other writers out until the
// copy ends. Each table is written to dst in a transaction of its own, in the order of the
// schema's foreign keys (a table after the tables it refers to). A copy that fails half way
// leaves dst with the tables committed so far: it must be emptied (a PostgreSQL database
// dropped and created again, an SQLite file deleted) before a second try.
func (db *DB) CopyTo(ctx context.Context, dst *DB, opts CopyOptions) (*CopyReport, error) {
	if dst.auditKey != nil {
		return nil, errors.New("copy database: open the target without the audit key: the copy brings the source's keying record")
	}
	if err := sameSchemaVersion(ctx, db, dst); err != nil {
		return nil, err
	}
	srcSchema, err := db.readSchema(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the schema of %s: %w", db, err)
	}
	dstSchema, err := dst.readSchema(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the schema of %s: %w", dst, err)
	}
	if err := sameTables(srcSchema, dstSchema); err != nil {
		return nil, fmt.Errorf("copy %s into %s: %w", db, dst, err)
	}
	if err := dst.refuseNonEmpty(ctx, dstSchema.order); err != nil {
		return nil, err
	}

	start := time.Now()
	src, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", db, err)
	}
	defer src.Rollback()
	if err := noStatementTimeout(ctx, db, src); err != nil {
		return nil, fmt.Errorf("read %s: %w", db, err)
	}
	floors, err := db.idFloors(ctx, src, srcSchema)
	if err != nil {
		return nil, fmt.Errorf("read the id sequences of %s: %w", db, err)
	}
	report := &CopyReport{}
	for _, table := range dstSchema.order {
		n, err := dst.copyTable(ctx, src, table, dstSchema.columns[table], opts.Progress)
		if err != nil {
			return nil, fmt.Errorf("copy table %s: %w (the target holds a partial copy: empty it before trying again)", table, err)
		}
		report.Tables = append(report.Tables, TableCount{Table: table, Rows: n})
		report.Rows += n
	}
	if err := dst.moveIDSequences(ctx, dstSchema, floors); err != nil {
		return nil, fmt.Errorf("move the id sequences of %s: %w", dst, err)
	}
	// The source's counts are read in its snapshot, the target's after every commit: equal,
	// they show that every row read was written and nothing else was. Every table of the
	// source is counted, not only those copied.
	copied := map[string]int64{}
	for _, tc := range report.Tables {
		copied[tc.Table] = tc.Rows
	}
	for _, table := range srcSchema.order {
		var want int64
		if err := src.QueryRowContext(ctx, `SELECT count(*) FROM `+quoteIdent(table)).Scan(&want); err != nil {
			return nil, fmt.Errorf("count table %s of %s: %w", table, db, err)
		}
		var got int64
		if err := dst.sql.QueryRowContext(ctx, `SELECT count(*) FROM `+quoteIdent(table)).Scan(&got); err != nil {
			return nil, fmt.Errorf("count table %s of %s: %w", table, dst, err)
		}
		if got != want || got != copied[table] {
			return nil, fmt.Errorf("verify the copy: table %s holds %d rows in %s and %d in %s after copying %d", table, want, db, got, dst, copied[table])
		}
	}
	report.Elapsed = time.Since(start)
	return report, nil
}

// CountRows counts the rows of every table of the database, in the order CopyTo copies them.
func (db *DB) CountRows(ctx context.Context) ([]TableCount, error) {
	s, err := db.readSchema(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the schema of %s: %w", db, err)
	}
	counts := make([]TableCount, 0, len(s.order))
	for _, t := range s.order {
		tc := TableCount{Table: t}
		if err := db.sql.QueryRowContext(ctx, `SELECT count(*) FROM `+quoteIdent(t)).Scan(&tc.Rows); err != nil {
			return nil, fmt.Errorf("count table %s: %w", t, err)
		}
		counts = append(counts, tc)
	}
	return counts, nil
}

func sameSchemaVersion(ctx context.Context, src, dst *DB) error {
	sv, err := src.SchemaVersion(ctx)
	if err != nil {
		return fmt.Errorf("schema version of %s: %w", src, err)
	}
	dv, err := dst.SchemaVersion(ctx)
	if err != nil {
		return fmt.Errorf("schema version of %s: %w", dst, err)
	}
	if sv != dv {
		return fmt.Errorf("copy database: %s is at schema version %d and %s at %d: run the same leadmailer version on both", src, sv, dst, dv)
	}
	return nil
}

// schema is what the copy needs to know of a database's tables.
type schema struct {
	order   []string            // every table but copySkipped, each after the tables it refers to
	columns map[string][]column // each table's columns, in the order the table declares them
	// autoIDs are the tables whose ids must never be given twice, even after their row is
	// deleted: AUTOINCREMENT on SQLite; on PostgreSQL every identity column behaves so.
	autoIDs map[string]string // table -> its id column
}

// column is a column's name and its declared type, lower case ("text", "bigint", "blob"...).
type column struct {
	name, typ string
}

// readSchema lists the tables, their columns and their foreign keys from the database's
// catalogue.
func (db *DB) readSchema(ctx context.Context) (*schema, error) {
	s := &schema{columns: map[string][]column{}, autoIDs: map[string]string{}}
	var tables []string
	var refs map[string][]string
	var err error
	if db.pg {
		tables, refs, err = db.pgTables(ctx, s)
	} else {
		tables, refs, err = db.sqliteTables(ctx, s)
	}
	if err != nil {
		return nil, err
	}
	s.order, err = dependencyOrder(tables, refs)
	return s, err
}

func (db *DB) sqliteTables(ctx context.Context, s *schema) (tables []string, refs map[string][]string, err error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT name, sql FROM sqlite_master
		WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\' ORDER BY name`)
	if err != nil {
		return nil, nil, err
	}
	var autoinc []string
	for rows.Next() {
		var name, ddl string
		if err := rows.Scan(&name, &ddl); err != nil {
			rows.Close()
			return nil, nil, err
		}
		if copySkipped[name] {
			continue
		}
		tables = append(tables, name)
		if strings.Contains(strings.ToUpper(ddl), "AUTOINCREMENT") {
			autoinc = append(autoinc, name)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	refs = map[string][]string{}
	for _, t := range tables {
		cols, err := queryPairs(ctx, db.sql, `SELECT name, lower(type), pk FROM pragma_table_info(?) ORDER BY cid`, t)
		if err != nil {
			return nil, nil, fmt.Errorf("columns of %s: %w", t, err)
		}
		for _, c := range cols {
			s.columns[t] = append(s.columns[t], column{name: c[0], typ: c[1]})
			if c[2] == "1" && slices.Contains(autoinc, t) {
				s.autoIDs[t] = c[0]
			}
		}
		fks, err := queryPairs(ctx, db.sql, `SELECT DISTINCT "table" FROM pragma_foreign_key_list(?)`, t)
		if err != nil {
			return nil, nil, fmt.Errorf("foreign keys of %s: %w", t, err)
		}
		for _, fk := range fks {
			refs[t] = append(refs[t], fk[0])
		}
	}
	return tables, refs, nil
}

func (db *DB) pgTables(ctx context.Context, s *schema) (tables []string, refs map[string][]string, err error) {
	names, err := queryPairs(ctx, db.sql, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`)
	if err != nil {
		return nil, nil, err
	}
	for _, n := range names {
		if !copySkipped[n[0]] {
			tables = append(tables, n[0])
		}
	}
	cols, err := queryPairs(ctx, db.sql, `SELECT table_name, column_name, lower(data_type), is_identity
		FROM information_schema.columns WHERE table_schema = current_schema()
		ORDER BY table_name, ordinal_position`)
	if err != nil {
		return nil, nil, err
	}
	for _, c := range cols {
		if copySkipped[c[0]] {
			continue
		}
		s.columns[c[0]] = append(s.columns[c[0]], column{name: c[1], typ: c[2]})
		if c[3] == "YES" {
			s.autoIDs[c[0]] = c[1]
		}
	}
	fks, err := queryPairs(ctx, db.sql, `SELECT conrelid::regclass::text, confrelid::regclass::text
		FROM pg_constraint WHERE contype = 'f' AND connamespace = current_schema()::regnamespace`)
	if err != nil {
		return nil, nil, err
	}
	refs = map[string][]string{}
	for _, fk := range fks {
		refs[fk[0]] = append(refs[fk[0]], fk[1])
	}
	// References checked by triggers instead of foreign keys (migrations_pg/0023): each such
	// trigger's arguments name the tables its table refers to. encode gives each argument
	// followed by the text \000.
	trigs, err := queryPairs(ctx, db.sql, `SELECT c.relname::text, encode(t.tgargs, 'escape')
		FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
		WHERE NOT t.tgisinternal AND t.tgnargs > 0 AND c.relnamespace = current_schema()::regnamespace`)
	if err != nil {
		return nil, nil, err
	}
	for _, tr := range trigs {
		for _, ref := range strings.Split(strings.TrimSuffix(tr[1], `\000`), `\000`) {
			refs[tr[0]] = append(refs[tr[0]], ref)
		}
	}
	return tables, refs, nil
}

// queryPairs runs a catalogue query and returns its rows as text.
func queryPairs(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, query string, args ...any) ([][]string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var out [][]string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		row := make([]string, len(cols))
		for i, v := range vals {
			row[i] = v.String
		}
		out = append(out, row)
	}
	return out, rows.Err()
}

// dependencyOrder orders tables so that each comes after the tables its foreign keys refer
// to; among tables free to go, alphabetically, so that the order is the same on every run. A
// table's references to itself do not count.
func dependencyOrder(tables []string, refs map[string][]string) ([]string, error) {
	done := map[string]bool{}
	var order []string
	for len(order) < len(tables) {
		progressed := false
		for _, t := range tables {
			if done[t] {
				continue
			}
			ready := true
			for _, r := range refs[t] {
				if r != t && !done[r] && slices.Contains(tables, r) {
					ready = false
					break
				}
			}
			if ready {
				done[t] = true
				order = append(order, t)
				progressed = true
			}
		}
		if !progressed {
			var left []string
			for _, t := range tables {
				if !done[t] {
					left = append(left, t)
				}
			}
			return nil, fmt.Errorf("the foreign keys of tables %s refer to each other in a circle: no order copies them", strings.Join(left, ", "))
		}
	}
	return order, nil
}

// sameTables checks that the two schemas have the same tables with the same columns (by
// name: the order of columns differs where a migration added one with ALTER TABLE).
func sameTables(src, dst *schema) error {
	for _, t := range src.order {
		if _, ok := dst.columns[t]; !ok {
			return fmt.Errorf("table %s of the source is missing from the target", t)
		}
	}
	for _, t := range dst.order {
		srcCols, ok := src.columns[t]
		if !ok {
			return fmt.Errorf("table %s of the target is missing from the source", t)
		}
		names := func(cs []column) []string {
			var n []string
			for _, c := range cs {
				n = append(n, c.name)
			}
			slices.Sort(n)
			return n
		}
		if s, d := names(srcCols), names(dst.columns[t]); !slices.Equal(s, d) {
			return fmt.Errorf("table %s has columns %s in the source and %s in the target", t, strings.Join(s, ", "), strings.Join(d, ", "))
		}
	}
	return nil
}

// refuseNonEmpty returns an ECONFLICT error naming the first table, in copy order, that holds
// a row.
func (db *DB) refuseNonEmpty(ctx context.Context, tables []string) error {
	for _, t := range tables {
		var n int64
		if err := db.sql.QueryRowContext(ctx, `SELECT count(*) FROM `+quoteIdent(t)).Scan(&n); err != nil {
			return fmt.Errorf("check that %s is empty: %w", db, err)
		}
		if n > 0 {
			return leadmailer.Errorf(leadmailer.ECONFLICT,
				"the target %s is not empty: table %s holds %d rows; copy only into a new, empty database", db, t, n)
		}
	}
	return nil
}

// idFloors reads, for each table whose ids are never reused, the highest id the source ever
// gave, which may be above the highest id left (the row was deleted): the target must not
// give it again.
func (db *DB) idFloors(ctx context.Context, tx *sql.Tx, s *schema) (map[string]int64, error) {
	floors := map[string]int64{}
	if !db.pg {
		if len(s.autoIDs) == 0 {
			return floors, nil
		}
		rows, err := queryPairs(ctx, tx, `SELECT name, seq FROM sqlite_sequence`)
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			n, err := strconv.ParseInt(r[1], 10, 64)
			if err != nil {
				return nil, fmt.Errorf("sqlite_sequence of %s: %w", r[0], err)
			}
			floors[r[0]] = n
		}
		return floors, nil
	}
	for t, col := range s.autoIDs {
		var last sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT pg_sequence_last_value(pg_get_serial_sequence(?, ?)::regclass)`, quoteIdent(t), col).Scan(&last); err != nil {
			return nil, fmt.Errorf("sequence of %s: %w", t, err)
		}
		if last.Valid {
			floors[t] = last.Int64
		}
	}
	return floors, nil
}

// moveIDSequences sets each table's id sequence past the highest id the table holds or the
// source ever gave, so that the next row inserted without an id gets a new one: PostgreSQL's
// identity sequences do not move when rows are inserted with their ids, as the copy does.
// SQLite moves sqlite_sequence itself on such inserts; only ids given and freed in the
// source (a floor above the highest id copied) are written to it here.
func (db *DB) moveIDSequences(ctx context.Context, s *schema, floors map[string]int64) error {
	for _, t := range s.order {
		col, ok := s.autoIDs[t]
		if !ok {
			continue
		}
		var highest int64
		if err := db.sql.QueryRowContext(ctx, `SELECT coalesce(max(`+quoteIdent(col)+`), 0) FROM `+quoteIdent(t)).Scan(&highest); err != nil {
			return err
		}
		highest = max(highest, floors[t])
		if highest == 0 {
			continue
		}
		if db.pg {
			if _, err := db.sql.ExecContext(ctx, `SELECT setval(pg_get_serial_sequence(?, ?), ?)`, quoteIdent(t), col, highest); err != nil {
				return fmt.Errorf("table %s: %w", t, err)
			}
			continue
		}
		tx, err := db.sql.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM sqlite_sequence WHERE name = ?`, t); err != nil {
			tx.Rollback()
			return fmt.Errorf("table %s: %w", t, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)`, t, highest); err != nil {
			tx.Rollback()
			return fmt.Errorf("table %s: %w", t, err)
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}

// copyTable copies one table, read in the source's transaction src, into db in one
// transaction, and returns how many rows it wrote.
func (db *DB) copyTable(ctx context.Context, src *sql.Tx, table string, cols []column, progress func(CopyProgress)) (int64, error) {
	var total int64
	if err := src.QueryRowContext(ctx, `SELECT count(*) FROM `+quoteIdent(table)).Scan(&total); err != nil {
		return 0, err
	}
	names := make([]string, len(cols))
	quoted := make([]string, len(cols))
	for i, c := range cols {
		names[i], quoted[i] = c.name, quoteIdent(c.name)
	}
	rows, err := src.QueryContext(ctx, `SELECT `+strings.Join(quoted, ", ")+` FROM `+quoteIdent(table))
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	rs := &copyRows{rows: rows, cols: cols, values: make([]any, len(cols)), total: total,
		table: table, progress: progress, start: time.Now()}
	rs.ptrs = make([]any, len(cols))
	for i := range rs.values {
		rs.ptrs[i] = &rs.values[i]
	}

	conn, err := db.sql.Conn(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, db.beginWrite()); err != nil {
		return 0, err
	}
	committed := false
	defer func() {
		if !committed {
			conn.ExecContext(context.WithoutCancel(ctx), `ROLLBACK`)
		}
	}()
	if err := noStatementTimeout(ctx, db, conn); err != nil {
		return 0, err
	}
	var n int64
	if db.pg {
		// COPY, PostgreSQL's bulk path: the rows stream from the source as the server takes them.
		err = conn.Raw(func(dc any) error {
			var err error
			n, err = dc.(*pgConn).Conn.Conn().CopyFrom(ctx, pgx.Identifier{table}, names, rs)
			return err
		})
	} else {
		n, err = insertRows(ctx, conn, table, quoted, rs)
	}
	if err == nil {
		err = rs.Err()
	}
	if err != nil {
		return 0, err
	}
	if _, err := conn.ExecContext(ctx, `COMMIT`); err != nil {
		return 0, err
	}
	committed = true
	rs.report(true)
	return n, nil
}

// insertRows inserts rs into an SQLite table with one prepared statement: inside one
// transaction, SQLite's fastest way short of its own bulk tools.
func insertRows(ctx context.Context, conn *sql.Conn, table string, quoted []string, rs *copyRows) (int64, error) {
	marks := strings.TrimSuffix(strings.Repeat("?, ", len(quoted)), ", ")
	stmt, err := conn.PrepareContext(ctx, `INSERT INTO `+quoteIdent(table)+` (`+strings.Join(quoted, ", ")+`) VALUES (`+marks+`)`)
	if err != nil {
		return 0, err
	}
	defer stmt.Close()
	var n int64
	for rs.Next() {
		vals, err := rs.Values()
		if err != nil {
			return n, err
		}
		if _, err := stmt.ExecContext(ctx, vals...); err != nil {
			return n, fmt.Errorf("row %d: %w", n+1, err)
		}
		n++
	}
	return n, nil
}

// copyRows reads a source table's rows, gives each in the type the target's column takes
// (pgx.CopyFromSource for PostgreSQL, Values for SQLite's insert) and reports progress.
type copyRows struct {
	rows     *sql.Rows
	cols     []column // the target's columns
	values   []any
	ptrs     []any
	err      error
	n, total int64
	table    string
	progress func(CopyProgress)
	start    time.Time
}

func (r *copyRows) Next() bool {
	if !r.rows.Next() {
		return false
	}
	if err := r.rows.Scan(r.ptrs...); err != nil {
		r.err = err
		return false
	}
	r.n++
	if r.n%copyBatchRows == 0 {
		r.report(false)
	}
	return true
}

// Values converts the row's values to what the target's columns take. The two drivers read
// TEXT as string, BLOB and BYTEA as []byte, integers as int64 and NULL as nil; SQLite's loose
// typing may give a TEXT column's value as []byte or a BLOB's as string, which PostgreSQL's
// binary COPY would refuse, and PostgreSQL has no unsigned or boolean values in this schema.
func (r *copyRows) Values() ([]any, error) {
	for i, v := range r.values {
		typ := r.cols[i].typ
		switch x := v.(type) {
		case []byte:
			if typ == "text" {
				r.values[i] = string(x)
			} else {
				r.values[i] = slices.Clone(x) // the driver reuses its buffer for the next row
			}
		case string:
			if typ == "bytea" || typ == "blob" {
				r.values[i] = []byte(x)
			}
		case bool:
			r.values[i] = map[bool]int64{false: 0, true: 1}[x]
		case time.Time:
			// Only a column declared DATE or TIMESTAMP comes back as a time; the store keeps
			// times as text, so this is a value written by hand: keep it in the store's format.
			r.values[i] = formatTime(x)
		}
	}
	return r.values, nil
}

func (r *copyRows) Err() error {
	if r.err != nil {
		return r.err
	}
	return r.rows.Err()
}

func (r *copyRows) report(done bool) {
	if r.progress != nil {
		r.progress(CopyProgress{Table: r.table, Rows: r.n, Total: r.total, Elapsed: time.Since(r.start), Done: done})
	}
}

// noStatementTimeout lifts PostgreSQL's statement timeout for the rest of the transaction:
// reading or writing a table of millions of rows is one statement that may run for minutes.
func noStatementTimeout(ctx context.Context, db *DB, tx interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}) error {
	if !db.pg {
		return nil
	}
	_, err := tx.ExecContext(ctx, `SET LOCAL statement_timeout = 0`)
	return err
}

// quoteIdent quotes a table or column name for both dialects.
func quoteIdent(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

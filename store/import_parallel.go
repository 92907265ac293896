package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/leadmailer/leadmailer"
)

// A batch written over several connections at once, on PostgreSQL. One connection keeps one
// server backend, and so one core, busy: it was the import's limit. WriteBatch therefore
// splits a batch by a hash of each row's address into Options.ImportWriters shares and writes
// each share in its own transaction on its own connection with its own staging tables. Rows
// with one address land in one share, so the shares never touch the same lead, and a row
// repeating an address earlier in the batch stays with the row it repeats.
//
// A share first looks up which of its addresses a stored lead has. The rows of the others
// are new leads: they are copied straight into leads and observations (copyNew), and only
// the rest go through the staging table and the statements a whole batch runs (see route).
// In a first import of 1,000,000 rows that cut the machine's CPU time by about a tenth
// (bench/import.sh). After a batch without a stored address the next one skips the lookup
// and copies its new rows in a savepoint, looking up only if the copy meets a stored
// address (another 7 % less CPU); after a batch in which most rows had a stored lead, as in
// a re-import, the lookup would repeat what classify finds, so the next batch stages every
// row instead.
//
// Locks, always taken in this order:
//   - importLockKey, for the session, on the run's own connection, for the whole batch: two
//     imports' batches never share the writer lock, as they may hold the same address and
//     neither would see the other's uncommitted lead for it.
//   - writerLockKey shared, by each share's transaction, so that they run beside each other
//     while every other write transaction, which takes it exclusively, waits for all of
//     them, as it waits for a single-connection batch.
//
// The shares' lead ids come from one block per batch, reserved on the id sequence once the
// shares know whether they have new leads: each new lead gets the block's base plus its
// row's number in the batch, as in a batch written whole, and a lead inserted later with the
// sequence's next value (from the website) gets a free id. Each share's transaction ends by
// adding its own counts to the run, so the run's counts agree with what is stored even when
// one share commits and another fails; the import then fails, and importing the input again
// completes it, as after a crash.

// importPart is one share of a batch and the connection that writes it.
type importPart struct {
	// w holds the share's connection, staging tables and prepared statements; parts[0].w is
	// the run's own writer.
	w    *ImportWriter
	rows []leadmailer.ImportRow
	// rowids are the rows' numbers in the batch, 1..n, which their staging rows keep, so
	// that new leads get ids in the order of the input, as a batch written whole gives them.
	rowids   []int64
	outcomes []byte
	staged   [outcomeSuppressed + 1]int64
	// direct are the indexes in rows of the rows whose address no stored lead has: their
	// leads and observations are copied in directly (see write). The rest of the rows that are
	// not suppressed go through the staging table: stageRows, with their outcomes and rowids.
	direct        []int
	addresses     []string
	stageRows     []leadmailer.ImportRow
	stageOutcomes []byte
	stageRowids   []int64
	matched       int64 // rows classify found a stored lead for
	// routing is how route deals out the next batch's rows; the last batch chose it.
	routing routing
	// assumedNew is set when route sent every new row on the direct path without a lookup.
	assumedNew bool
	idBase     int64 // new leads get idBase + their staging rowid
	counts     leadmailer.ImportCounts
	rejects    []leadmailer.RejectedRow // the batch's rejected rows, stored by the first share with pre
	inTx       bool                     // the share's transaction is open
	committed  bool                     // and ended with COMMIT
}

// newLeads reports whether some of the share's rows will insert a lead.
func (p *importPart) newLeads() bool { return p.staged[outcomeNew]-p.matched > 0 }

// splitBatch deals the batch's rows out to the parts, by a hash of the normalised address,
// and returns how many parts got rows.
func (w *ImportWriter) splitBatch(rows []leadmailer.ImportRow) int {
	n := w.db.importWriters
	for len(w.parts) < n {
		w.parts = append(w.parts, &importPart{})
	}
	w.parts[0].w = w
	for _, p := range w.parts {
		p.rows, p.rowids = p.rows[:0], p.rowids[:0]
	}
	for i := range rows {
		p := w.parts[addressHash(rows[i].Values[leadmailer.FieldEmail])%uint64(n)]
		p.rows, p.rowids = append(p.rows, rows[i]), append(p.rowids, int64(i+1))
	}
	used := 0
	for _, p := range w.parts {
		if len(p.rows) > 0 {
			used++
		}
	}
	return used
}

// addressHash is FNV-1a: cheap, and spreads addresses evenly.
func addressHash(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// writeParts writes the batch that splitBatch dealt out. It returns the counts of the shares
// that committed, which the run's stored counts include, and the first error.
func (w *ImportWriter) writeParts(ctx context.Context, rows []leadmailer.ImportRow, pre leadmailer.ImportCounts, rejects []leadmailer.RejectedRow) (leadmailer.ImportCounts, error) {
	// The run's own connection takes part in every batch: it holds the import lock, reads
	// the suppressions and reserves the ids, and records pre with the rejected rows it counts.
	w.parts[0].rejects = rejects
	defer func() { w.parts[0].rejects = nil }()
	parts := []*importPart{w.parts[0]}
	for _, p := range w.parts[1:] {
		if len(p.rows) > 0 {
			parts = append(parts, p)
		}
	}
	if err := w.openParts(ctx, parts); err != nil {
		return leadmailer.ImportCounts{}, fmt.Errorf("open import connections: %w", err)
	}
	if err := w.lockImport(ctx); err != nil {
		return leadmailer.ImportCounts{}, err
	}
	counts, err := w.writeLockedParts(ctx, rows, pre, parts)
	if uerr := w.unlockImport(ctx); uerr != nil && err == nil {
		err = uerr
	}
	w.run.Counts.Add(counts)
	return counts, err
}

// writeLockedParts is writeParts under the import lock.
func (w *ImportWriter) writeLockedParts(ctx context.Context, rows []leadmailer.ImportRow, pre leadmailer.ImportCounts, parts []*importPart) (leadmailer.ImportCounts, error) {
	if err := beginParts(ctx, parts); err != nil {
		return leadmailer.ImportCounts{}, err
	}
	if err := w.stageParts(ctx, rows, parts); err != nil {
		rollbackParts(ctx, parts)
		return leadmailer.ImportCounts{}, err
	}
	// No row is stored yet: from here on, each share commits on its own.
	dealCounts(parts, pre)
	now := w.db.now().UTC()
	err := eachPart(parts, func(p *importPart) error {
		p.committed = false
		err := p.write(ctx, now)
		if err != nil {
			p.w.conn.ExecContext(context.WithoutCancel(ctx), `ROLLBACK`)
		}
		p.inTx = false
		return err
	})
	var counts leadmailer.ImportCounts
	for _, p := range parts {
		if p.committed {
			counts.Add(p.counts)
		}
	}
	if err != nil {
		return counts, err
	}
	w.run.HeartbeatAt = now
	return counts, nil
}

// openParts gives each part that has none a connection of its own with its staging tables.
func (w *ImportWriter) openParts(ctx context.Context, parts []*importPart) error {
	for _, p := range parts {
		if p.w != nil {
			continue
		}
		conn, err := w.db.sql.Conn(ctx)
		if err != nil {
			return err
		}
		pw := &ImportWriter{db: w.db, conn: conn, run: w.run, stmts: map[string]*sql.Stmt{}}
		if err := pw.beginPG(ctx); err != nil {
			pw.close()
			return err
		}
		p.w = pw
	}
	return nil
}

// closeParts releases the parts' own connections.
func (w *ImportWriter) closeParts() {
	for _, p := range w.parts {
		if p.w != nil && p.w != w {
			p.w.close()
		}
	}
	w.parts = nil
}

// lockImport takes the import lock for the batch, on the run's connection.
func (w *ImportWriter) lockImport(ctx context.Context) error {
	if err := w.exec(ctx, `SELECT pg_advisory_lock(?::bigint)`, importLockKey); err != nil {
		// The lock may have been granted as the wait was cancelled.
		w.unlockImport(ctx)
		return fmt.Errorf("take the import lock: %w", err)
	}
	return nil
}

// unlockImport releases the import lock, whatever ended the batch. A connection that cannot
// release it is closed, which releases it too.
func (w *ImportWriter) unlockImport(ctx context.Context) error {
	if _, err := w.conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1::bigint)`, importLockKey); err != nil {
		w.conn.Raw(func(any) error { return driver.ErrBadConn })
		return fmt.Errorf("release the import lock: %w", err)
	}
	return nil
}

// beginParts begins each part's transaction with the writer lock shared. Only the first
// waits for the lock: a part holding it while another waits behind an exclusive writer would
// wait for ever, as that writer waits for the first part, which waits for the others before it
// commits. So the others only try, and when one cannot have it, every part lets go and the
// first waits again, behind the waiting writer.
func beginParts(ctx context.Context, parts []*importPart) error {
	for {
		got, err := tryBeginParts(ctx, parts)
		if err != nil || got {
			return err
		}
	}
}

func tryBeginParts(ctx context.Context, parts []*importPart) (bool, error) {
	for i, p := range parts {
		if _, err := p.w.conn.ExecContext(ctx, `BEGIN`); err != nil {
			rollbackParts(ctx, parts)
			return false, err
		}
		p.inTx = true
		got := true
		var err error
		if i == 0 {
			err = p.w.exec(ctx, `SELECT pg_advisory_xact_lock_shared(?::bigint)`, writerLockKey)
		} else {
			err = p.w.scanRow(ctx, `SELECT pg_try_advisory_xact_lock_shared(?::bigint)`, []any{writerLockKey}, &got)
		}
		if err == nil && got {
			err = p.w.tunePG(ctx)
		}
		if err != nil {
			rollbackParts(ctx, parts)
			return false, fmt.Errorf("take the writer lock: %w", err)
		}
		if !got {
			rollbackParts(ctx, parts)
			return false, nil
		}
	}
	return true, nil
}

// rollbackParts rolls back every part's open transaction.
func rollbackParts(ctx context.Context, parts []*importPart) {
	for _, p := range parts {
		if p.inTx {
			p.w.conn.ExecContext(context.WithoutCancel(ctx), `ROLLBACK`)
			p.inTx = false
		}
	}
}

// stageParts settles what is known of each row before looking at stored leads, stages and
// classifies each part's rows, and reserves the ids of the new leads. The suppressions are
// read after every part holds the writer lock, so none can be added before the parts commit.
func (w *ImportWriter) stageParts(ctx context.Context, rows []leadmailer.ImportRow, parts []*importPart) error {
	if err := w.loadSuppressions(ctx); err != nil {
		return fmt.Errorf("read suppression list: %w", err)
	}
	for _, p := range parts {
		p.outcomes, p.staged = p.outcomes[:0], [outcomeSuppressed + 1]int64{}
		for i := range p.rows {
			r := &p.rows[i]
			var outcome byte = outcomeNew
			if w.rowSuppressed(r) {
				outcome = outcomeSuppressed
			} else if r.DuplicateInBatch {
				outcome = outcomeDuplicateInBatch
			}
			p.staged[outcome]++
			p.outcomes = append(p.outcomes, outcome)
		}
	}
	err := eachPart(parts, func(p *importPart) error {
		return p.route(ctx)
	})
	if err != nil {
		return err
	}
	if err := w.reserveIDs(ctx, parts, len(rows)); err != nil {
		return fmt.Errorf("write leads: %w", err)
	}
	return nil
}

// reserveIDs moves the id sequence past a block of ids as long as the batch, when some part
// has new leads, and gives every part the block's base: a new lead's id is the base plus the
// row's number in the batch. The sequence is not transactional: the block stays taken even
// if a part fails, and the next batch takes the next one. Both the highest id stored and the
// sequence count, as either may be ahead: leads copied in with their ids, or a block a failed
// batch left unused.
func (w *ImportWriter) reserveIDs(ctx context.Context, parts []*importPart, batchRows int) error {
	if !slices.ContainsFunc(parts, (*importPart).newLeads) {
		return nil
	}
	var base int64
	err := w.scanRow(ctx, `SELECT setval(pg_get_serial_sequence('leads', 'id'),
			greatest((SELECT coalesce(max(id), 0) FROM leads),
				coalesce(pg_sequence_last_value(pg_get_serial_sequence('leads', 'id')::regclass), 0)) + ?1::bigint) - ?1::bigint`,
		[]any{int64(batchRows)}, &base)
	if err != nil {
		return err
	}
	for _, p := range parts {
		p.idBase = base
	}
	return nil
}

// routing is how a part deals out a batch's rows (see route).
type routing int8

const (
	// routeLookup looks up which addresses a stored lead has; the rows of the others go on
	// the direct path.
	routeLookup routing = iota
	// routeAssumeNew sends every new row on the direct path without a lookup, after a batch
	// in which no row had a stored lead, as in a first import. Should the copy meet a stored
	// address after all, copyNew undoes it and routes the batch again with a lookup.
	routeAssumeNew
	// routeStageAll sends every row through the staging table, after a batch in which most
	// rows had a stored lead, as in a re-import: the lookup would find out what classify
	// finds a second time, and the direct path would copy few rows.
	routeStageAll
)

// route deals the part's rows out to the direct path and the staging table, as p.routing
// says, and stages and classifies the staged rows. It knows, when it returns, how many new
// leads the part will insert, and chooses the next batch's routing from this one's.
func (p *importPart) route(ctx context.Context) error {
	p.direct, p.addresses = p.direct[:0], p.addresses[:0]
	p.stageRows, p.stageOutcomes, p.stageRowids = p.stageRows[:0], p.stageOutcomes[:0], p.stageRowids[:0]
	p.matched = 0
	p.assumedNew = p.routing == routeAssumeNew
	stageAll := p.routing == routeStageAll
	var stored map[string]struct{}
	if p.routing == routeLookup {
		for i := range p.rows {
			if p.outcomes[i] == outcomeNew {
				p.addresses = append(p.addresses, p.rows[i].Values[leadmailer.FieldEmail])
			}
		}
		if len(p.addresses) > 0 {
			var err error
			if stored, err = p.w.storedAddressesPG(ctx, p.addresses); err != nil {
				return fmt.Errorf("look up stored leads: %w", err)
			}
		}
	}
	for i := range p.rows {
		switch p.outcomes[i] {
		case outcomeSuppressed:
			continue
		case outcomeNew:
			if _, ok := stored[p.rows[i].Values[leadmailer.FieldEmail]]; !ok && !stageAll {
				p.direct = append(p.direct, i)
				continue
			}
		}
		p.stageRows = append(p.stageRows, p.rows[i])
		p.stageOutcomes = append(p.stageOutcomes, p.outcomes[i])
		p.stageRowids = append(p.stageRowids, p.rowids[i])
	}
	if len(p.stageRows) > 0 {
		if err := p.w.stageRowsPG(ctx, p.stageRows, p.stageOutcomes, p.stageRowids); err != nil {
			return fmt.Errorf("stage rows: %w", err)
		}
		var err error
		if p.matched, err = p.w.classifyPG(ctx); err != nil {
			return fmt.Errorf("classify rows: %w", err)
		}
	}
	if !stageAll {
		// Only the new rows whose lead the lookup found were staged.
		if want := p.staged[outcomeNew] - int64(len(p.direct)); p.matched != want {
			return fmt.Errorf("classify rows: %d rows matched a stored lead, the lookup found %d", p.matched, want)
		}
	}
	switch {
	case 2*p.matched > int64(len(p.direct)+len(p.stageRows)):
		p.routing = routeStageAll
	case p.matched == 0 && len(p.direct) > 0:
		p.routing = routeAssumeNew
	default:
		p.routing = routeLookup
	}
	return nil
}

// dealCounts gives each part its share of pre: the rows it was given count as read by it,
// the rest of pre (rows read and rejected, or skipped, by the caller) goes to the first part.
func dealCounts(parts []*importPart, pre leadmailer.ImportCounts) {
	// A caller whose pre counts fewer rows read than it passed (none do) leaves them all to
	// the first part rather than a negative count.
	read := pre.Read
	for _, p := range parts[1:] {
		r := min(int64(len(p.rows)), read)
		p.counts = leadmailer.ImportCounts{Read: r}
		read -= r
	}
	parts[0].counts = pre
	parts[0].counts.Read = read
}

// write writes the part's staged rows, adds its counts to the run's and commits.
func (p *importPart) write(ctx context.Context, now time.Time) error {
	w := p.w
	c := &p.counts
	if err := p.copyNew(ctx, now); err != nil {
		return err
	}
	if len(p.stageRows) > 0 {
		// Staged rows that classify left new are there only when stageAll staged every row.
		if p.staged[outcomeNew]-int64(len(p.direct)) > p.matched {
			if _, err := w.insertLeadsPG(ctx, p.idBase); err != nil {
				return fmt.Errorf("write leads: %w", err)
			}
		}
		if p.matched > 0 {
			if err := w.updateChanged(ctx); err != nil {
				return fmt.Errorf("write leads: %w", err)
			}
		}
		if err := w.observePG(ctx, p.idBase); err != nil {
			return fmt.Errorf("record provenance: %w", err)
		}
		if p.matched > 0 {
			if err := w.countMatched(ctx, c); err != nil {
				return fmt.Errorf("count outcomes: %w", err)
			}
		}
		if err := w.clearStagingPG(ctx); err != nil {
			return err
		}
	}
	c.Inserted += p.staged[outcomeNew] - p.matched
	c.Duplicates += p.staged[outcomeDuplicateInBatch]
	c.Suppressed += p.staged[outcomeSuppressed]
	if err := w.writeRejects(ctx, p.rejects); err != nil {
		return fmt.Errorf("store rejected rows: %w", err)
	}
	if err := w.addRunCounts(ctx, now, *c); err != nil {
		return err
	}
	if _, err := w.conn.ExecContext(ctx, `COMMIT`); err != nil {
		return err
	}
	p.committed = true
	return nil
}

// copyNew copies the leads of the part's direct rows into leads and then their
// observations into observations, before the staged rows' observations: a row that repeats
// a new lead's address in the batch is staged, and its observation follows the first row's.
func (p *importPart) copyNew(ctx context.Context, now time.Time) error {
	if len(p.direct) == 0 {
		return nil
	}
	w, runID := p.w, p.w.run.ID
	stamp := formatTime(now)
	b := append(w.stageBuf[:0], pgCopyHeader...)
	for _, i := range p.direct {
		b = appendCopyLead(b, &p.rows[i], p.idBase+p.rowids[i], runID, stamp)
	}
	w.stageBuf = b
	if p.assumedNew {
		retry, err := p.copyAssumedNew(ctx, b)
		if err != nil {
			return fmt.Errorf("write leads: %w", err)
		}
		if retry {
			return p.copyNew(ctx, now)
		}
	} else if err := w.copyIn(ctx, pgLeadsCopy, b, len(p.direct)); err != nil {
		return fmt.Errorf("write leads: %w", err)
	}
	b = append(w.stageBuf[:0], pgCopyHeader...)
	for _, i := range p.direct {
		b = appendCopyObservation(b, &p.rows[i], p.idBase+p.rowids[i], runID)
	}
	w.stageBuf = b
	if err := w.copyIn(ctx, pgObservationsCopy, b, len(p.direct)); err != nil {
		return fmt.Errorf("record provenance: %w", err)
	}
	return nil
}

// copyAssumedNew copies the leads b encodes, which route assumed new, inside a savepoint. If
// one of their addresses is stored after all, it undoes the copy, routes the batch again with
// a lookup and reports that the direct rows must be copied again.
func (p *importPart) copyAssumedNew(ctx context.Context, b []byte) (retry bool, err error) {
	w := p.w
	if err := w.exec(ctx, `SAVEPOINT assumed_new`); err != nil {
		return false, err
	}
	err = w.copyIn(ctx, pgLeadsCopy, b, len(p.direct))
	if err == nil {
		return false, w.exec(ctx, `RELEASE SAVEPOINT assumed_new`)
	}
	if !pgUniqueViolation(err) {
		return false, err
	}
	if err := w.exec(ctx, `ROLLBACK TO SAVEPOINT assumed_new`); err != nil {
		return false, err
	}
	if err := w.clearStagingPG(ctx); err != nil {
		return false, err
	}
	p.routing = routeLookup
	return true, p.route(ctx)
}

// eachPart runs fn for every part at once, each on its own connection, and returns the first
// part's error.
func eachPart(parts []*importPart, fn func(*importPart) error) error {
	errs := make([]error, len(parts))
	var wg sync.WaitGroup
	for i, p := range parts {
		wg.Go(func() { errs[i] = fn(p) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

package store

/*
int lmRegisterStage(void);
*/
import "C"

import (
	"encoding/binary"
	"fmt"

	"github.com/leadmailer/leadmailer"
)

// registerStageFunc makes leadmailer_stage (stage.c) known to every connection opened
// afterwards. It must run before the first connection opens.
func registerStageFunc() error {
	if rc := C.lmRegisterStage(); rc != 0 {
		return fmt.Errorf("register leadmailer_stage: SQLite error %d", int(rc))
	}
	return nil
}

// Outcomes of a staged row, kept in staging.outcome. A row is staged as new, duplicate in
// batch or suppressed; classify settles each new row whose lead exists to
// outcomeUnchanged + changed + 2*seen, where changed says the row brings a new value and seen
// that the lead was already observed earlier in this run.
const (
	outcomeNew              = 0
	outcomeDuplicateInBatch = 1 // merged by the importer into the batch's first row for its address
	outcomeSuppressed       = 2
	outcomeUnchanged        = 3
	outcomeUpdated          = 4
	outcomeDuplicate        = 5 // seen earlier in this run, brings nothing new
	outcomeDuplicateChanged = 6 // seen earlier in this run, brings a new value

	outcomeNewSQL              = "0"
	outcomeSuppressedSQL       = "2"
	outcomeUnchangedSQL        = "3"
	outcomeUpdatedSQL          = "4"
	outcomeDuplicateChangedSQL = "6"
)

// receivedSep must match the separator leadmailer.Values.Encode writes.
const receivedSep = '\x1f'

// appendStageRow appends r to b in the layout leadmailer_stage reads (see stage.c).
func appendStageRow(b []byte, r *leadmailer.ImportRow, outcome byte) []byte {
	b = binary.LittleEndian.AppendUint64(b, uint64(r.Row))
	b = append(b, outcome)
	b = binary.LittleEndian.AppendUint64(b, uint64(r.Supplied))
	for f := range leadmailer.NumFields {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(r.Values[f])))
		b = append(b, r.Values[f]...)
	}
	lenAt := len(b)
	b = appendReceived(append(b, 0, 0, 0, 0), r)
	binary.LittleEndian.PutUint32(b[lenAt:], uint32(len(b)-lenAt-4))
	return b
}

// appendReceived appends r's record as received, encoded as leadmailer.Values.Encode
// encodes it, without building the string first.
func appendReceived(b []byte, r *leadmailer.ImportRow) []byte {
	first := true
	for f := range leadmailer.NumFields {
		if !r.Supplied.Has(leadmailer.Field(f)) {
			continue
		}
		if !first {
			b = append(b, receivedSep)
		}
		first = false
		b = append(b, r.Received[f]...)
	}
	return b
}

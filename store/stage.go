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

// Outcome codes of a staged row in the blob leadmailer_stage reads.
const (
	stageNew        = 0
	stageDuplicate  = 1
	stageSuppressed = 2
)

// receivedSep must match the separator leadmailer.Values.Encode writes.
const receivedSep = '\x1f'

// appendStageRow appends r to b in the layout leadmailer_stage reads (see stage.c).
// received is written like leadmailer.Values.Encode, without building the string first.
func appendStageRow(b []byte, r *leadmailer.ImportRow, outcome byte) []byte {
	b = binary.LittleEndian.AppendUint64(b, uint64(r.Row))
	b = append(b, outcome)
	b = binary.LittleEndian.AppendUint64(b, uint64(r.Supplied))
	for f := range leadmailer.NumFields {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(r.Values[f])))
		b = append(b, r.Values[f]...)
	}
	lenAt := len(b)
	b = append(b, 0, 0, 0, 0)
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
	binary.LittleEndian.PutUint32(b[lenAt:], uint32(len(b)-lenAt-4))
	return b
}

// Package csvsafe writes CSV files that a spreadsheet opens as text, never as formulas.
//
// A cell that begins with = + - @, a tab or a carriage return is a formula to Excel,
// LibreOffice and Google Sheets: a lead whose company is =HYPERLINK("http://x","Open") becomes
// a link in the file of whoever opens the export, and worse formulas can run commands or send
// the sheet's contents elsewhere. Every CSV leadmailer writes goes through this package, which
// does what OWASP recommends ("CSV Injection"): such a cell gets a single quote in front, which
// spreadsheets read as "this is text" and do not show, and every cell is quoted, so that a
// spreadsheet splitting on another delimiter (a semicolon, in many European locales) cannot
// start a new cell in the middle of one.
//
// The price is that a legitimate value starting with one of those characters, a phone
// number +358 40 123 4567 or a negative number -12, also gets the quote: it shows unchanged in
// a spreadsheet, but a program reading the file sees '+358 40 123 4567. JSON exports keep
// every value exactly as stored.
//
// A Writer is not safe for concurrent use.
package csvsafe

import (
	"bufio"
	"io"
	"strings"
)

// Cell returns v as it is safe to put in a spreadsheet cell: with a single quote in front
// when it would otherwise start a formula, and unchanged otherwise. A value that already
// starts with a single quote is unchanged, so neutralising twice changes nothing.
func Cell(v string) string {
	if v == "" {
		return v
	}
	switch v[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + v
	}
	return v
}

// Writer writes records as CSV: comma-separated, every cell neutralised by Cell and quoted,
// lines ending in \n. It has the methods of encoding/csv's Writer that leadmailer uses
// (and gocsv's CSVWriter), so it drops in where one was.
type Writer struct {
	w   *bufio.Writer
	err error
}

// NewWriter returns a Writer writing to w.
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: bufio.NewWriter(w)}
}

// Write writes one record. Like encoding/csv, it buffers: call Flush, then check Error.
func (w *Writer) Write(record []string) error {
	if w.err != nil {
		return w.err
	}
	for i, v := range record {
		if i > 0 {
			w.w.WriteByte(',')
		}
		w.w.WriteByte('"')
		w.w.WriteString(strings.ReplaceAll(Cell(v), `"`, `""`))
		if _, err := w.w.WriteString(`"`); err != nil {
			w.err = err
			return err
		}
	}
	if err := w.w.WriteByte('\n'); err != nil {
		w.err = err
	}
	return w.err
}

// Flush writes any buffered data to the underlying writer.
func (w *Writer) Flush() {
	if err := w.w.Flush(); err != nil && w.err == nil {
		w.err = err
	}
}

// Error reports any error of a previous Write or Flush.
func (w *Writer) Error() error { return w.err }

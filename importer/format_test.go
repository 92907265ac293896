package importer

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/leadmailer/leadmailer"
)

func TestDetectEncoding(t *testing.T) {
	// A UTF-8 sample as long as detection reads, cut in the middle of "ä" (0xC3 0xA4).
	cut := append(bytes.Repeat([]byte("a"), sniffSize-1), 0xc3)
	tests := []struct {
		name   string
		sample []byte
		want   string
	}{
		{"empty", nil, "utf-8"},
		{"ascii", []byte("Email,Name\na@b.fi,Anna\n"), "utf-8"},
		{"utf-8 without BOM", []byte("Email;Nimi\na@b.fi;Mäkinen\n"), "utf-8"},
		{"utf-8 BOM", []byte("\xef\xbb\xbfEmail\n"), "utf-8"},
		{"utf-16le BOM", []byte("\xff\xfeE\x00"), "utf-16le"},
		{"utf-16be BOM", []byte("\xfe\xff\x00E"), "utf-16be"},
		{"windows-1252 ä", []byte("Email;Nimi\na@b.fi;M\xe4kinen\n"), "windows-1252"},
		{"windows-1252 euro sign", []byte("Email;Hinta\na@b.fi;100 \x80\n"), "windows-1252"},
		{"utf-8 cut mid-character by the sample size", cut, "utf-8"},
		{"short input ending in a lead byte", []byte("Email\na@b.fi\xc3"), "windows-1252"},
		{"utf-8 with one stray windows-1252 byte", []byte("Email;Nimi\na@b.fi;Mäkinen\nb@b.fi;M\xe4kinen\nc@b.fi;Jyväskylä\n"), "utf-8"},
		{"windows-1252 with one pair that is valid utf-8", []byte("Email;Nimi\na@b.fi;M\xe4kinen\nb@b.fi;\xc3\xa9 H\xe4m\xe4l\xe4inen\n"), "windows-1252"},
		{"excel-fi testdata", readFile(t, "excel-fi-windows1252.csv"), "windows-1252"},
		{"utf16le testdata", readFile(t, "utf16le-bom.csv"), "utf-16le"},
	}
	for _, tt := range tests {
		if got := detectEncoding(tt.sample); got != tt.want {
			t.Errorf("%s: detectEncoding() = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestDetectDelimiter(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  rune
	}{
		{"comma", "Email,Name,Company\na@b.fi,A,C\n", ','},
		{"semicolon", "Email;Name;Company\na@b.fi;A;C\n", ';'},
		{"tab", "Email\tName\na@b.fi\tA\n", '\t'},
		{"pipe", "Email|Name\na@b.fi|A\n", '|'},
		{"one column", "Email\na@b.fi\n", ','},
		{"empty", "", ','},
		{"header only", "Email;Name", ';'},
		{"semicolon file with commas in names", "Email;Name;Company\na@b.fi;Mäkinen, Matti;Oy Ab, Helsinki\n", ';'},
		{"semicolon file with as many commas in the header", "Name, first;Email;Company, Ltd;Notes, misc\nA;a@b.fi;C;N\n", ';'},
		{"quoted delimiters do not count", "\"Name; first; last\",Email\n\"A; B; C\",a@b.fi\n", ','},
		{"quoted line break in the second line", "Email;Notes\na@b.fi;\"line one,\nline, two\"\n", ';'},
		{"CRLF", "Email;Name\r\na@b.fi;A\r\n", ';'},
		{"blank line before the header", "\nEmail;Name;Company\na@b.fi;A;C\n", ';'},
		{"blank line after the header", "Email;Name;Company\n\na@b.fi;Mäkinen, Matti;C\n", ';'},
	}
	for _, tt := range tests {
		text := bufio.NewReaderSize(strings.NewReader(tt.input), sniffSize)
		if got := detectDelimiter(text); got != tt.want {
			t.Errorf("%s: detectDelimiter(%q) = %q, want %q", tt.name, tt.input, got, tt.want)
		}
	}
}

func TestFoldHeader(t *testing.T) {
	tests := []struct {
		header string
		want   string
	}{
		{"Email", "email"},
		{"E-mail", "email"},
		{"EMAIL ADDRESS", "emailaddress"},
		{" e_mail ", "email"},
		{"Sähköposti", "sahkoposti"},
		{"SÄHKÖPOSTI", "sahkoposti"},
		{"Företagsnamn", "foretagsnamn"},
		{"Y-tunnus", "ytunnus"},
		{"\ufeffEmail", "email"}, // a BOM left by a tool that wrote it twice
		{"Straße", "straße"},
		{"Phone #2", "phone2"},
		{"", ""},
		{"---", ""},
	}
	for _, tt := range tests {
		if got := foldHeader(tt.header); got != tt.want {
			t.Errorf("foldHeader(%q) = %q, want %q", tt.header, got, tt.want)
		}
	}
}

func TestParseDelimiter(t *testing.T) {
	tests := []struct {
		in      string
		want    rune
		wantErr bool
	}{
		{"", 0, false},
		{",", ',', false},
		{";", ';', false},
		{"|", '|', false},
		{"tab", '\t', false},
		{"TAB", '\t', false},
		{`\t`, '\t', false},
		{"\t", '\t', false},
		{"comma", ',', false},
		{"Semicolon", ';', false},
		{"pipe", '|', false},
		{"§", '§', false},
		{";;", 0, true},
		{`"`, 0, true},
		{"\n", 0, true},
		{"\r", 0, true},
		{"\xff", 0, true},
		{"space bar", 0, true},
	}
	for _, tt := range tests {
		got, err := parseDelimiter(tt.in)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("parseDelimiter(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
		if err != nil && leadmailer.ErrorCode(err) != leadmailer.EINVALID {
			t.Errorf("parseDelimiter(%q) error code %q, want %q", tt.in, leadmailer.ErrorCode(err), leadmailer.EINVALID)
		}
	}
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

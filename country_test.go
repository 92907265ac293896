package leadmailer

import (
	"testing"

	"golang.org/x/text/language"
	"golang.org/x/text/unicode/norm"
)

func TestNormalizeCountry(t *testing.T) {
	tests := []struct {
		in     string
		want   string
		wantOK bool
	}{
		// Alpha-2 codes, in any case and with stray spacing.
		{"FI", "FI", true},
		{"fi", "FI", true},
		{"Fi", "FI", true},
		{" se ", "SE", true},
		{"U.S.", "US", true},
		{"UK", "GB", true},
		{"uk", "GB", true},
		{"EL", "GR", true},
		{"XK", "XK", true},

		// Alpha-3 codes.
		{"FIN", "FI", true},
		{"deu", "DE", true},
		{"USA", "US", true},
		{"GBR", "GB", true},
		{" Che ", "CH", true},

		// English names and their common variants.
		{"Finland", "FI", true},
		{"United States", "US", true},
		{"United States of America", "US", true},
		{"U.S.A.", "US", true},
		{"United Kingdom", "GB", true},
		{"Great Britain", "GB", true},
		{"England", "GB", true},
		{"Czechia", "CZ", true},
		{"Czech Republic", "CZ", true},
		{"czech-republic", "CZ", true},
		{"CZECH  REPUBLIC", "CZ", true},
		{"South Korea", "KR", true},
		{"Korea, Republic of", "KR", true},
		{"Korea (Republic of)", "KR", true},
		{"North Korea", "KP", true},
		{"Netherlands", "NL", true},
		{"The Netherlands", "NL", true},
		{"Holland", "NL", true},
		{"Russia", "RU", true},
		{"Russian Federation", "RU", true},
		{"Turkey", "TR", true},
		{"Türkiye", "TR", true},
		{"Turkiye", "TR", true},
		{"TÜRKİYE", "TR", true},
		{"Ivory Coast", "CI", true},
		{"Cote d'Ivoire", "CI", true},
		{"Côte d’Ivoire", "CI", true},
		{"Bosnia & Herzegovina", "BA", true},
		{"Trinidad and Tobago", "TT", true},
		{"St. Kitts & Nevis", "KN", true},
		{"Congo", "CG", true},
		{"DR Congo", "CD", true},
		{"Bolivia, Plurinational State of", "BO", true},
		{"Viet Nam", "VN", true},
		{"Vietnam", "VN", true},
		{"Hong Kong", "HK", true},
		{"Hongkong", "HK", true},
		{"Vatican City", "VA", true},
		{"Holy See", "VA", true},
		{"Kosovo", "XK", true},

		// Local names, with and without their diacritics.
		{"Suomi", "FI", true},
		{"Sverige", "SE", true},
		{"Norge", "NO", true},
		{"Noreg", "NO", true},
		{"Danmark", "DK", true},
		{"Ísland", "IS", true},
		{"Island", "IS", true},
		{"Eesti", "EE", true},
		{"Latvija", "LV", true},
		{"Lietuva", "LT", true},
		{"Deutschland", "DE", true},
		{"Österreich", "AT", true},
		{"ÖSTERREICH", "AT", true},
		{"Osterreich", "AT", true},
		{"Schweiz", "CH", true},
		{"Suisse", "CH", true},
		{"Svizzera", "CH", true},
		{"Svizra", "CH", true},
		{"France", "FR", true},
		{"España", "ES", true},
		{"Espana", "ES", true},
		{"Portugal", "PT", true},
		{"Italia", "IT", true},
		{"Nederland", "NL", true},
		{"België", "BE", true},
		{"Belgie", "BE", true},
		{"Belgique", "BE", true},
		{"Belgien", "BE", true},
		{"Polska", "PL", true},
		{"Česko", "CZ", true},
		{"Česká republika", "CZ", true},
		{"Ceska Republika", "CZ", true},
		{"Slovensko", "SK", true},
		{"Magyarország", "HU", true},
		{"Magyarorszag", "HU", true},
		{"România", "RO", true},
		{"Romania", "RO", true},
		{"България", "BG", true},
		{"Bulgaria", "BG", true},
		{"Ελλάδα", "GR", true},
		{"ΕΛΛΑΔΑ", "GR", true},
		{"Hellas", "GR", true},
		{"Hrvatska", "HR", true},
		{"Slovenija", "SI", true},
		{"Éire", "IE", true},
		{"Eire", "IE", true},
		{"Ireland", "IE", true},
		{"Lëtzebuerg", "LU", true},
		{"Luxemburg", "LU", true},
		{"Malta", "MT", true},
		{"Κύπρος", "CY", true},
		{"ΚΥΠΡΟΣ", "CY", true},
		{"Cyprus", "CY", true},
		{"Россия", "RU", true},
		{"РОССИЯ", "RU", true},
		{"Україна", "UA", true},
		{"日本", "JP", true},
		{"中国", "CN", true},
		{"대한민국", "KR", true},
		{"Føroyar", "FO", true},
		{"Foroyar", "FO", true},
		{"Białoruś", "BY", true},
		{"Weißrussland", "BY", true},
		{"WEISSRUSSLAND", "BY", true},

		// Finnish names, as users in Finland type them.
		{"Ruotsi", "SE", true},
		{"Saksa", "DE", true},
		{"Norja", "NO", true},
		{"Tanska", "DK", true},
		{"Viro", "EE", true},
		{"Venäjä", "RU", true},
		{"Venaja", "RU", true},
		{"Iso-Britannia", "GB", true},
		{"iso britannia", "GB", true},
		{"Yhdysvallat", "US", true},
		{"Ranska", "FR", true},
		{"Espanja", "ES", true},
		{"Alankomaat", "NL", true},
		{"Puola", "PL", true},
		{"Tšekki", "CZ", true},
		{"Ahvenanmaa", "AX", true},

		// Swedish names.
		{"Tyskland", "DE", true},
		{"Estland", "EE", true},
		{"Storbritannien", "GB", true},
		{"Frankrike", "FR", true},
		{"Spanien", "ES", true},
		{"Nederländerna", "NL", true},
		{"Polen", "PL", true},
		{"Förenta staterna", "US", true},
		{"Åland", "AX", true},

		// Unicode forms an import may carry: decomposed (NFD) accents, full-width letters,
		// non-breaking and other Unicode spaces.
		{norm.NFD.String("Österreich"), "AT", true},
		{norm.NFD.String("Česká republika"), "CZ", true},
		{"ＵＳＡ", "US", true},
		{"ＪＰ", "JP", true},
		{"\u00a0Finland\u2003", "FI", true},
		{"\tSuomi\n", "FI", true},

		// Rejects.
		{"Atlantis", "", false},
		{"", "", false},
		{"   ", "", false},
		{"F", "", false},
		{"XX", "", false},
		{"X1", "", false},
		{"--", "", false},
		{"Korea", "", false},
		{"Virgin Islands", "", false},
		{"FIN1", "", false},
		{"Finlandia Finland", "", false},
		{"\xff\xfe", "", false},
		{"Republic of the Republic of the Republic of the Republic of the Republic of the Republic of Finland", "", false},
	}
	for _, tt := range tests {
		got, ok := NormalizeCountry(tt.in)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("NormalizeCountry(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestCountryName(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"FI", "Finland"},
		{"fi", "Finland"},
		{"GB", "United Kingdom"},
		{"US", "United States"},
		{"KR", "South Korea"},
		{"CZ", "Czechia"},
		{"TR", "Türkiye"},
		{"XK", "Kosovo"},
		{"UK", ""},
		{"EL", ""},
		{"XX", ""},
		{"FIN", ""},
		{"", ""},
		{"F", ""},
	}
	for _, tt := range tests {
		if got := CountryName(tt.in); got != tt.want {
			t.Errorf("CountryName(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

// TestCountryTableBuilds guards against an edit that adds an alias already meaning another
// country: the index would refuse it at init and every program would panic.
func TestCountryTableBuilds(t *testing.T) {
	idx, err := buildCountryIndex(countryTable)
	if err != nil {
		t.Fatalf("buildCountryIndex(countryTable) error = %v; want nil", err)
	}
	// 249 ISO 3166-1 codes plus XK.
	if got, want := len(idx.codes), 250; got != want {
		t.Errorf("country count = %d; want %d", got, want)
	}
	t.Logf("%d countries, %d folded keys, longest key %d bytes", len(idx.codes), len(idx.byKey), idx.maxKey)
}

func TestBuildCountryIndexRejectsConflicts(t *testing.T) {
	tests := []struct {
		name  string
		table [][]string
	}{
		{"alias of two countries", [][]string{{"KR", "KOR", "South Korea", "Korea"}, {"KP", "PRK", "North Korea", "KOREA"}}},
		{"alias equal to another code", [][]string{{"GB", "GBR", "United Kingdom"}, {"GR", "GRC", "Greece", "G.B."}}},
		{"code listed twice", [][]string{{"FI", "FIN", "Finland"}, {"FI", "FIN", "Suomi"}}},
		{"lower-case code", [][]string{{"fi", "FIN", "Finland"}}},
		{"short row", [][]string{{"FI", "FIN"}}},
		{"alias without letters", [][]string{{"FI", "FIN", "Finland", "--"}}},
	}
	for _, tt := range tests {
		if _, err := buildCountryIndex(tt.table); err == nil {
			t.Errorf("%s: buildCountryIndex error = nil; want an error", tt.name)
		}
	}
}

// TestCountryRoundTrip checks that every row is reachable by all of its spellings and that the
// alpha-3 codes agree with CLDR's, which catches a typo in the table.
func TestCountryRoundTrip(t *testing.T) {
	for _, row := range countryTable {
		code, alpha3, name := row[0], row[1], row[2]
		if got := CountryName(code); got != name {
			t.Errorf("CountryName(%q) = %q; want %q", code, got, name)
		}
		for _, s := range row {
			if got, ok := NormalizeCountry(s); got != code || !ok {
				t.Errorf("NormalizeCountry(%q) = %q, %v; want %q, true", s, got, ok, code)
			}
		}
		if got, ok := NormalizeCountry(CountryName(code)); got != code || !ok {
			t.Errorf("NormalizeCountry(CountryName(%q)) = %q, %v; want %q, true", code, got, ok, code)
		}
		if code == "XK" {
			continue // CLDR gives Kosovo XKK; the EU and most registries use XKX.
		}
		region, err := language.ParseRegion(code)
		if err != nil {
			t.Errorf("language.ParseRegion(%q) error = %v; want nil", code, err)
			continue
		}
		if got := region.ISO3(); got != alpha3 {
			t.Errorf("alpha-3 of %s per CLDR = %q; want %q (as in the table)", code, got, alpha3)
		}
	}
}

func TestNormalizeCountryDoesNotAllocate(t *testing.T) {
	for _, s := range []string{"FI", "fin", "Finland", "Österreich", "Česká republika", "Atlantis"} {
		if n := testing.AllocsPerRun(100, func() { NormalizeCountry(s) }); n != 0 {
			t.Errorf("NormalizeCountry(%q) allocations = %v; want 0", s, n)
		}
	}
}

func BenchmarkNormalizeCountry(b *testing.B) {
	for _, bm := range []struct{ name, in string }{
		{"code", "FI"},
		{"lowercode", "se"},
		{"alpha3", "DEU"},
		{"name", "Finland"},
		{"longname", "United States of America"},
		{"diacritics", "Österreich"},
		{"cyrillic", "Россия"},
		{"unknown", "Atlantis"},
	} {
		b.Run(bm.name, func(b *testing.B) {
			for b.Loop() {
				NormalizeCountry(bm.in)
			}
		})
	}
}

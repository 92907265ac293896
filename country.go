package leadmailer

import (
	"fmt"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// NormalizeCountry returns the ISO 3166-1 alpha-2 code (upper case) for s, which may be an
// alpha-2 code, an alpha-3 code, or a common English or local name, in any letter case, with
// surrounding spaces, diacritics or punctuation variations. ok is false when s is not recognised,
// including when s is empty or all spaces: callers treat a missing country separately from a
// wrong one.
//
// Names are matched on a folded key (see foldCountryKey), so "Czech Republic", "czech-republic",
// "ÖSTERREICH" and "Osterreich" are all found. It does not allocate.
func NormalizeCountry(s string) (code string, ok bool) {
	// Most imported rows already hold a two-letter code, so they skip folding and the map.
	if len(s) == 2 {
		if i, isLetters := twoLetterIndex(s[0], s[1]); isLetters {
			code = countries.byTwo[i]
			return code, code != ""
		}
	}
	var buf [96]byte
	key, fits := foldCountryKey(buf[:0], s, countries.maxKey)
	if !fits || len(key) == 0 {
		return "", false
	}
	code, ok = countries.byKey[string(key)]
	return code, ok
}

// CountryName returns the English short name for an alpha-2 code (in either letter case), or
// "" if unknown. Reserved codes that NormalizeCountry accepts as aliases, such as UK and EL, are
// not codes and get "".
func CountryName(code string) string {
	if len(code) != 2 {
		return ""
	}
	i, ok := twoLetterIndex(code[0], code[1])
	if !ok {
		return ""
	}
	return countries.names[i]
}

// countries is built at init (about 0.4 ms) rather than lazily: a sync.OnceValue doubled the
// cost of the two-letter fast path, and imports call it for millions of rows. A conflict in the
// table is a programming error that the tests catch, hence the panic.
var countries = mustBuildCountryIndex(countryTable)

type countryIndex struct {
	byKey  map[string]string // folded code, alpha-3 code, name or alias -> alpha-2 code
	byTwo  [26 * 26]string   // two-letter keys (codes and aliases like UK), for the fast path
	names  [26 * 26]string   // alpha-2 code -> English short name
	codes  []string          // alpha-2 codes in table order
	maxKey int               // longest folded key: longer input cannot match, so folding stops
}

func mustBuildCountryIndex(table [][]string) *countryIndex {
	idx, err := buildCountryIndex(table)
	if err != nil {
		panic(err)
	}
	return idx
}

// buildCountryIndex checks every row and refuses an alias whose folded key already belongs to
// another country: such an alias is ambiguous, and silently keeping one meaning would put leads
// in the wrong country.
func buildCountryIndex(table [][]string) (*countryIndex, error) {
	idx := &countryIndex{byKey: make(map[string]string, 2560)}
	var buf []byte
	for _, row := range table {
		if len(row) < 3 {
			return nil, fmt.Errorf("country row %q: want code, alpha-3 code and name", row)
		}
		code, alpha3, name := row[0], row[1], row[2]
		if !isUpperASCII(code, 2) || !isUpperASCII(alpha3, 3) || name == "" {
			return nil, fmt.Errorf("country row %q: malformed code, alpha-3 code or name", row)
		}
		i, _ := twoLetterIndex(code[0], code[1])
		if idx.names[i] != "" {
			return nil, fmt.Errorf("country %s listed twice", code)
		}
		idx.names[i] = name
		idx.codes = append(idx.codes, code)
		for _, alias := range row {
			key, _ := foldCountryKey(buf[:0], alias, -1)
			buf = key
			if len(key) == 0 {
				return nil, fmt.Errorf("country %s: alias %q has no letters", code, alias)
			}
			if prev, dup := idx.byKey[string(key)]; dup {
				if prev != code {
					return nil, fmt.Errorf("country alias %q (key %q) means both %s and %s", alias, key, prev, code)
				}
				continue
			}
			idx.byKey[string(key)] = code
			idx.maxKey = max(idx.maxKey, len(key))
			if len(key) == 2 {
				if j, ok := twoLetterIndex(key[0], key[1]); ok {
					idx.byTwo[j] = code
				}
			}
		}
	}
	return idx, nil
}

func isUpperASCII(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

// twoLetterIndex maps two ASCII letters, in either case, to a slot of a 26×26 array. Setting
// bit 0x20 lower-cases exactly the ASCII letters, and no other byte lands in 'a'..'z'.
func twoLetterIndex(a, b byte) (int, bool) {
	a, b = a|0x20, b|0x20
	if a < 'a' || a > 'z' || b < 'a' || b > 'z' {
		return 0, false
	}
	return int(a-'a')*26 + int(b-'a'), true
}

// foldCountryKey appends to dst the matching key for s: letters and digits only, lower case,
// without diacritics. Everything else (spaces, dots, hyphens, apostrophes, commas, parentheses,
// "&" and other symbols) is dropped, so spelling variants of a name meet on one key. NFKD rather
// than NFD also folds full-width letters ("ＵＳＡ") typed with East Asian input methods. If limit
// is not negative and the key grows past it, foldCountryKey stops and reports false.
func foldCountryKey(dst []byte, s string, limit int) ([]byte, bool) {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			dst = appendFoldedRune(dst, rune(c))
			i++
		} else {
			r, size := utf8.DecodeRuneInString(s[i:])
			if d := norm.NFKD.PropertiesString(s[i:]).Decomposition(); d != nil && r != utf8.RuneError {
				// The stored decomposition is already complete, so its runes need no further
				// decomposing; dropping its nonspacing marks is what strips the diacritics.
				for len(d) > 0 {
					dr, dsize := utf8.DecodeRune(d)
					dst = appendFoldedRune(dst, dr)
					d = d[dsize:]
				}
			} else {
				dst = appendFoldedRune(dst, r)
			}
			i += size
		}
		if limit >= 0 && len(dst) > limit {
			return dst, false
		}
	}
	return dst, true
}

// appendFoldedRune appends the lower-case form of a letter or digit and drops anything else,
// including combining marks. A few letters have no decomposition but are still written
// without their stroke or ligature when people type without a local keyboard (Ø as O, ß as ss),
// and Greek final sigma must meet the σ that lower-casing Σ gives.
func appendFoldedRune(dst []byte, r rune) []byte {
	switch {
	case 'a' <= r && r <= 'z', '0' <= r && r <= '9':
		return append(dst, byte(r))
	case 'A' <= r && r <= 'Z':
		return append(dst, byte(r)+'a'-'A')
	case r < utf8.RuneSelf:
		return dst
	case unicode.IsLetter(r):
		r = unicode.ToLower(r)
		switch r {
		case 'ß':
			return append(dst, "ss"...)
		case 'æ':
			return append(dst, "ae"...)
		case 'œ':
			return append(dst, "oe"...)
		case 'þ':
			return append(dst, "th"...)
		case 'ø':
			r = 'o'
		case 'ł':
			r = 'l'
		case 'đ', 'ð':
			r = 'd'
		case 'ħ':
			r = 'h'
		case 'ı':
			r = 'i'
		case 'ς':
			r = 'σ'
		}
		return utf8.AppendRune(dst, r)
	case unicode.IsDigit(r):
		return utf8.AppendRune(dst, r)
	}
	return dst
}

// countryTable lists every ISO 3166-1 country, one per row: alpha-2 code, alpha-3 code, the
// English short name that CountryName returns, then aliases: ISO's formal names, other English
// forms, and local and trade-partner names (Finnish and Swedish above all, as leads come from
// Finnish companies). Aliases that fold to the same key are listed once. XK (Kosovo) is not in
// ISO 3166-1 but is the user-assigned code that the EU and most registries use for it.
var countryTable = [][]string{
	{"AD", "AND", "Andorra", "Principality of Andorra", "Andorre"},
	{"AE", "ARE", "United Arab Emirates", "UAE", "Emirates", "Arab Emirates", "Arabiemiirikunnat", "Yhdistyneet arabiemiirikunnat", "Förenade arabemiraten", "Vereinigte Arabische Emirate", "Émirats arabes unis", "Emiratos Árabes Unidos", "الإمارات", "الإمارات العربية المتحدة"},
	{"AF", "AFG", "Afghanistan", "Islamic Republic of Afghanistan", "Afganistan", "افغانستان"},
	{"AG", "ATG", "Antigua and Barbuda", "Antigua & Barbuda", "Antigua"},
	{"AI", "AIA", "Anguilla"},
	{"AL", "ALB", "Albania", "Republic of Albania", "Shqipëria", "Shqipëri", "Albanien", "Albanie"},
	{"AM", "ARM", "Armenia", "Republic of Armenia", "Hayastan", "Հայաստան", "Armenien", "Arménie"},
	{"AO", "AGO", "Angola", "Republic of Angola"},
	{"AQ", "ATA", "Antarctica", "Antarktis", "Antarktika", "Etelämanner", "Antarctique"},
	{"AR", "ARG", "Argentina", "Argentine Republic", "Argentiina", "Argentinien", "Argentine", "República Argentina"},
	{"AS", "ASM", "American Samoa"},
	{"AT", "AUT", "Austria", "Republic of Austria", "Österreich", "Republik Österreich", "Itävalta", "Österrike", "Autriche", "Oostenrijk", "Rakousko", "Rakúsko", "Ausztria", "Austrija", "Австрия"},
	{"AU", "AUS", "Australia", "Australien", "Australie", "Commonwealth of Australia"},
	{"AW", "ABW", "Aruba"},
	{"AX", "ALA", "Åland Islands", "Åland", "Ahvenanmaa", "Ålandsöarna", "Ålandinseln"},
	{"AZ", "AZE", "Azerbaijan", "Republic of Azerbaijan", "Azərbaycan", "Azerbaidžan", "Azerbajdzjan", "Aserbaidschan", "Azerbaïdjan"},
	{"BA", "BIH", "Bosnia and Herzegovina", "Republic of Bosnia and Herzegovina", "Bosnia & Herzegovina", "Bosnia", "Bosna i Hercegovina", "Босна и Херцеговина", "Bosnia ja Hertsegovina", "Bosnien och Hercegovina", "Bosnien und Herzegowina", "Bosnie-Herzégovine"},
	{"BB", "BRB", "Barbados"},
	{"BD", "BGD", "Bangladesh", "People's Republic of Bangladesh", "বাংলাদেশ"},
	{"BE", "BEL", "Belgium", "Kingdom of Belgium", "België", "Belgique", "Belgien", "Belgia", "Belgio", "Bélgica", "Koninkrijk België", "Royaume de Belgique", "Belgicko"},
	{"BF", "BFA", "Burkina Faso"},
	{"BG", "BGR", "Bulgaria", "Republic of Bulgaria", "България", "Balgariya", "Bulgarien", "Bulgarie", "Bulharsko", "Bulgarije", "Болгария"},
	{"BH", "BHR", "Bahrain", "Kingdom of Bahrain", "البحرين"},
	{"BI", "BDI", "Burundi", "Republic of Burundi"},
	{"BJ", "BEN", "Benin", "Republic of Benin"},
	{"BL", "BLM", "Saint Barthélemy", "St Barthélemy", "Saint Barts", "St Barts", "St Barths"},
	{"BM", "BMU", "Bermuda"},
	{"BN", "BRN", "Brunei", "Brunei Darussalam"},
	{"BO", "BOL", "Bolivia", "Bolivia, Plurinational State of", "Plurinational State of Bolivia"},
	{"BQ", "BES", "Bonaire, Sint Eustatius and Saba", "Caribbean Netherlands", "Caribisch Nederland", "Bonaire", "Sint Eustatius", "Bonaire, Saint Eustatius and Saba"},
	{"BR", "BRA", "Brazil", "Federative Republic of Brazil", "Brasil", "Brasilia", "Brasilien", "Brésil", "Brazylia", "Brazílie", "Brazília", "República Federativa do Brasil", "Бразилия"},
	{"BS", "BHS", "Bahamas", "Commonwealth of the Bahamas", "The Bahamas"},
	{"BT", "BTN", "Bhutan", "Kingdom of Bhutan"},
	{"BV", "BVT", "Bouvet Island"},
	{"BW", "BWA", "Botswana", "Republic of Botswana"},
	{"BY", "BLR", "Belarus", "Republic of Belarus", "Беларусь", "Белоруссия", "Byelorussia", "Belorussia", "Valko-Venäjä", "Vitryssland", "Weißrussland", "Biélorussie", "Białoruś", "Bělorusko", "Bielorrusia"},
	{"BZ", "BLZ", "Belize"},
	{"CA", "CAN", "Canada", "Kanada"},
	{"CC", "CCK", "Cocos (Keeling) Islands", "Cocos Islands", "Keeling Islands"},
	{"CD", "COD", "Democratic Republic of the Congo", "Congo, The Democratic Republic of the", "DR Congo", "DRC", "Democratic Republic of Congo", "Congo-Kinshasa", "Zaire", "République démocratique du Congo", "RDC", "Kongon demokraattinen tasavalta", "Kongo-Kinshasa"},
	{"CF", "CAF", "Central African Republic", "Centrafrique", "République centrafricaine", "Keski-Afrikan tasavalta", "Zentralafrikanische Republik"},
	{"CG", "COG", "Congo", "Republic of the Congo", "Republic of Congo", "Congo Republic", "Congo-Brazzaville", "Kongo-Brazzaville", "Kongon tasavalta"},
	{"CH", "CHE", "Switzerland", "Swiss Confederation", "Schweiz", "Suisse", "Svizzera", "Svizra", "Sveitsi", "Schweizerische Eidgenossenschaft", "Confédération suisse", "Confederazione Svizzera", "Confoederatio Helvetica", "Helvetia", "Zwitserland", "Suiza", "Suíça", "Szwajcaria", "Švýcarsko", "Švajčiarsko", "Svájc", "Šveits", "Швейцария"},
	{"CI", "CIV", "Côte d'Ivoire", "Republic of Côte d'Ivoire", "Ivory Coast", "Elfenbeinküste", "Norsunluurannikko", "Elfenbenskusten", "Costa de Marfil"},
	{"CK", "COK", "Cook Islands"},
	{"CL", "CHL", "Chile", "Republic of Chile", "Chili", "República de Chile", "Tšile"},
	{"CM", "CMR", "Cameroon", "Republic of Cameroon", "Cameroun", "Kamerun"},
	{"CN", "CHN", "China", "People's Republic of China", "中国", "中國", "中华人民共和国", "中華人民共和國", "Zhongguo", "PRC", "P.R. China", "Mainland China", "Kiina", "Kina", "Chine", "Chiny", "Cina", "Hiina", "Китай", "중국"},
	{"CO", "COL", "Colombia", "Republic of Colombia", "Kolumbia", "Kolumbien", "Colombie"},
	{"CR", "CRI", "Costa Rica", "Republic of Costa Rica"},
	{"CU", "CUB", "Cuba", "Republic of Cuba", "Kuuba", "Kuba"},
	{"CV", "CPV", "Cabo Verde", "Republic of Cabo Verde", "Cape Verde", "Kap Verde"},
	{"CW", "CUW", "Curaçao", "Kòrsou"},
	{"CX", "CXR", "Christmas Island"},
	{"CY", "CYP", "Cyprus", "Republic of Cyprus", "Κύπρος", "Kypros", "Kıbrıs", "Κυπριακή Δημοκρατία", "Zypern", "Chypre", "Cypern", "Cipro", "Chipre", "Cypr", "Kypr", "Ciprus", "Küpros", "Kipra", "Kipras", "Кипр"},
	{"CZ", "CZE", "Czechia", "Czech Republic", "Czech", "Česko", "Česká republika", "Tšekki", "Tjeckien", "Tschechien", "Tschechische Republik", "Tchéquie", "République tchèque", "Czechy", "Repubblica Ceca", "Chequia", "República Checa", "Tsjechië", "Csehország", "Cehia", "Tšehhi", "Čehija", "Čekija", "Чехия"},
	{"DE", "DEU", "Germany", "Federal Republic of Germany", "Deutschland", "Bundesrepublik Deutschland", "BRD", "Saksa", "Tyskland", "Allemagne", "Alemania", "Germania", "Alemanha", "Niemcy", "Německo", "Németország", "Duitsland", "Njemačka", "Nemčija", "Saksamaa", "Vācija", "Vokietija", "Германия", "Німеччина", "ドイツ", "德国", "德國", "독일"},
	{"DJ", "DJI", "Djibouti", "Republic of Djibouti"},
	{"DK", "DNK", "Denmark", "Kingdom of Denmark", "Danmark", "Kongeriget Danmark", "Tanska", "Dänemark", "Dinamarca", "Danimarca", "Dania", "Dánsko", "Denemarken", "Taani", "Dānija", "Дания"},
	{"DM", "DMA", "Dominica", "Commonwealth of Dominica"},
	{"DO", "DOM", "Dominican Republic", "República Dominicana", "Dominikaaninen tasavalta", "Dominikanska republiken", "Dominikanische Republik", "République dominicaine"},
	{"DZ", "DZA", "Algeria", "People's Democratic Republic of Algeria", "Algérie", "Algerien", "Argelia", "الجزائر"},
	{"EC", "ECU", "Ecuador", "Republic of Ecuador"},
	{"EE", "EST", "Estonia", "Republic of Estonia", "Eesti", "Eesti Vabariik", "Viro", "Estland", "Estonie", "Estonsko", "Észtország", "Igaunija", "Estija", "Эстония"},
	{"EG", "EGY", "Egypt", "Arab Republic of Egypt", "Egypti", "Egypten", "Ägypten", "Égypte", "Egipto", "Egitto", "Egipt", "مصر"},
	{"EH", "ESH", "Western Sahara"},
	{"ER", "ERI", "Eritrea", "the State of Eritrea"},
	{"ES", "ESP", "Spain", "Kingdom of Spain", "España", "Reino de España", "Espanja", "Spanien", "Espagne", "Spagna", "Espanha", "Hiszpania", "Španělsko", "Španielsko", "Spanje", "Spanyolország", "Hispaania", "Spānija", "Ispanija", "Španjolska", "Испания"},
	{"ET", "ETH", "Ethiopia", "Federal Democratic Republic of Ethiopia", "Etiopia", "Äthiopien", "Éthiopie"},
	{"FI", "FIN", "Finland", "Republic of Finland", "Suomi", "Suomen tasavalta", "Republiken Finland", "Finnland", "Finlande", "Finlandia", "Finsko", "Finnország", "Soome", "Somija", "Suomija", "Finska", "Финляндия", "Фінляндія", "フィンランド", "芬兰", "芬蘭", "핀란드"},
	{"FJ", "FJI", "Fiji", "Republic of Fiji", "Fidži", "Fidschi"},
	{"FK", "FLK", "Falkland Islands", "Falkland Islands (Malvinas)", "Falklands", "Malvinas", "Islas Malvinas", "Falklandinsaaret"},
	{"FM", "FSM", "Micronesia", "Micronesia, Federated States of", "Federated States of Micronesia"},
	{"FO", "FRO", "Faroe Islands", "Faroes", "Faeroe Islands", "Føroyar", "Færøerne", "Färöarna", "Färsaaret", "Färöer"},
	{"FR", "FRA", "France", "French Republic", "République française", "Ranska", "Frankrike", "Frankreich", "Francia", "França", "Francja", "Francie", "Francúzsko", "Franciaország", "Frankrijk", "Prantsusmaa", "Francija", "Prancūzija", "Francuska", "Франция", "Франція", "フランス", "法国", "法國", "프랑스"},
	{"GA", "GAB", "Gabon", "Gabonese Republic"},
	{"GB", "GBR", "United Kingdom", "United Kingdom of Great Britain and Northern Ireland", "UK", "Great Britain", "Britain", "England", "Scotland", "Wales", "Northern Ireland", "Cymru", "Iso-Britannia", "Yhdistynyt kuningaskunta", "Britannia", "Englanti", "Skotlanti", "Storbritannien", "Förenade kungariket", "Storbritannia", "Vereinigtes Königreich", "Großbritannien", "Royaume-Uni", "Grande-Bretagne", "Reino Unido", "Gran Bretaña", "Regno Unito", "Gran Bretagna", "Grã-Bretanha", "Wielka Brytania", "Velká Británie", "Veľká Británia", "Verenigd Koninkrijk", "Groot-Brittannië", "Egyesült Királyság", "Nagy-Britannia", "Suurbritannia", "Ühendkuningriik", "Lielbritānija", "Didžioji Britanija", "Velika Britanija", "Великобритания", "Соединённое Королевство", "イギリス", "英国", "英國", "영국"},
	{"GD", "GRD", "Grenada"},
	{"GE", "GEO", "Georgia", "Sakartvelo", "საქართველო", "Georgien", "Géorgie", "Gruzja", "Gruusia", "Грузия"},
	{"GF", "GUF", "French Guiana", "Guyane", "Guyane française", "Ranskan Guayana"},
	{"GG", "GGY", "Guernsey"},
	{"GH", "GHA", "Ghana", "Republic of Ghana"},
	{"GI", "GIB", "Gibraltar"},
	{"GL", "GRL", "Greenland", "Kalaallit Nunaat", "Grønland", "Grönlanti", "Groenland"},
	{"GM", "GMB", "Gambia", "Republic of the Gambia", "The Gambia"},
	{"GN", "GIN", "Guinea", "Republic of Guinea", "Guinée"},
	{"GP", "GLP", "Guadeloupe"},
	{"GQ", "GNQ", "Equatorial Guinea", "Republic of Equatorial Guinea", "Guinea Ecuatorial", "Guinée équatoriale", "Päiväntasaajan Guinea"},
	{"GR", "GRC", "Greece", "Hellenic Republic", "Ελλάδα", "Ελλάς", "Ellada", "Hellas", "Ελληνική Δημοκρατία", "EL", "Kreikka", "Grekland", "Griechenland", "Grèce", "Grecia", "Grecja", "Řecko", "Grécko", "Görögország", "Griekenland", "Kreeka", "Grieķija", "Graikija", "Grčka", "Grčija", "Греция"},
	{"GS", "SGS", "South Georgia and the South Sandwich Islands", "South Georgia", "South Georgia and South Sandwich Islands"},
	{"GT", "GTM", "Guatemala", "Republic of Guatemala"},
	{"GU", "GUM", "Guam"},
	{"GW", "GNB", "Guinea-Bissau", "Republic of Guinea-Bissau", "Guinée-Bissau"},
	{"GY", "GUY", "Guyana", "Republic of Guyana"},
	{"HK", "HKG", "Hong Kong", "Hong Kong Special Administrative Region of China", "香港", "Hong Kong SAR", "Hong Kong SAR China", "Hong Kong, China"},
	{"HM", "HMD", "Heard Island and McDonald Islands", "Heard and McDonald Islands"},
	{"HN", "HND", "Honduras", "Republic of Honduras"},
	{"HR", "HRV", "Croatia", "Republic of Croatia", "Hrvatska", "Republika Hrvatska", "Kroatia", "Kroatien", "Croatie", "Croacia", "Croazia", "Chorwacja", "Chorvatsko", "Horvátország", "Kroatië", "Horvaatia", "Horvātija", "Kroatija", "Hrvaška", "Хорватия"},
	{"HT", "HTI", "Haiti", "Republic of Haiti"},
	{"HU", "HUN", "Hungary", "Magyarország", "Unkari", "Ungern", "Ungarn", "Hongrie", "Hungría", "Ungheria", "Węgry", "Maďarsko", "Hongarije", "Ungari", "Ungārija", "Vengrija", "Mađarska", "Madžarska", "Ungaria", "Венгрия"},
	{"ID", "IDN", "Indonesia", "Republic of Indonesia", "Indonesien", "Indonésie", "Indonezja"},
	{"IE", "IRL", "Ireland", "Éire", "Republic of Ireland", "Irlanti", "Irland", "Irlande", "Irlanda", "Irlandia", "Irsko", "Ierland", "Írország", "Iirimaa", "Īrija", "Airija", "Irska"},
	{"IL", "ISR", "Israel", "State of Israel", "ישראל", "Izrael", "Israele", "إسرائيل"},
	{"IM", "IMN", "Isle of Man", "Ellan Vannin", "Mansaari"},
	{"IN", "IND", "India", "Republic of India", "Bharat", "भारत", "Intia", "Indien", "Inde", "Indie", "Индия", "インド", "印度", "인도"},
	{"IO", "IOT", "British Indian Ocean Territory", "BIOT", "Chagos Islands", "Chagos Archipelago"},
	{"IQ", "IRQ", "Iraq", "Republic of Iraq", "Irak", "العراق"},
	{"IR", "IRN", "Iran", "Iran, Islamic Republic of", "Islamic Republic of Iran", "ایران", "Persia"},
	{"IS", "ISL", "Iceland", "Republic of Iceland", "Ísland", "Islanti", "Islande", "Islandia", "Islanda", "IJsland", "Izland", "Islandija", "Исландия"},
	{"IT", "ITA", "Italy", "Italian Republic", "Italia", "Repubblica Italiana", "Italien", "Italie", "Włochy", "Taliansko", "Olaszország", "Itaalia", "Itālija", "Италия", "イタリア", "意大利", "이탈리아"},
	{"JE", "JEY", "Jersey"},
	{"JM", "JAM", "Jamaica", "Jamaika", "Jamaïque"},
	{"JO", "JOR", "Jordan", "Hashemite Kingdom of Jordan", "Jordania", "Jordanien", "Jordanie", "الأردن"},
	{"JP", "JPN", "Japan", "日本", "日本国", "Nippon", "Nihon", "Japani", "Japon", "Giappone", "Japão", "Japonia", "Japonsko", "Jaapan", "Japāna", "Japonija", "Япония", "일본"},
	{"KE", "KEN", "Kenya", "Republic of Kenya", "Kenia"},
	{"KG", "KGZ", "Kyrgyzstan", "Kyrgyz Republic", "Kirgisia", "Kirgisistan", "Kirgizistan", "Kirgizia", "Kirghizistan", "Кыргызстан"},
	{"KH", "KHM", "Cambodia", "Kingdom of Cambodia", "Kambodža", "Kambodscha", "Kambodja", "Cambodge", "Kampuchea"},
	{"KI", "KIR", "Kiribati", "Republic of Kiribati"},
	{"KM", "COM", "Comoros", "Union of the Comoros", "Comores", "Komorit"},
	{"KN", "KNA", "Saint Kitts and Nevis", "St Kitts and Nevis", "St. Kitts & Nevis", "Saint Kitts", "St Kitts"},
	{"KP", "PRK", "North Korea", "Korea, Democratic People's Republic of", "Democratic People's Republic of Korea", "DPRK", "Korea (North)", "Pohjois-Korea", "Nordkorea", "Corée du Nord", "Corea del Norte", "Korea Północna", "조선", "조선민주주의인민공화국", "북한"},
	{"KR", "KOR", "South Korea", "Korea, Republic of", "Republic of Korea", "Korea (South)", "ROK", "Etelä-Korea", "Sydkorea", "Südkorea", "Corée du Sud", "Corea del Sur", "Corea del Sud", "Coreia do Sul", "Korea Południowa", "Jižní Korea", "Dél-Korea", "Zuid-Korea", "Lõuna-Korea", "Южная Корея", "대한민국", "한국", "韓国", "韩国", "韓國", "Hanguk"},
	{"KW", "KWT", "Kuwait", "State of Kuwait", "الكويت"},
	{"KY", "CYM", "Cayman Islands", "Caymans", "Cayman", "Caymansaaret"},
	{"KZ", "KAZ", "Kazakhstan", "Republic of Kazakhstan", "Kazakstan", "Qazaqstan", "Қазақстан", "Казахстан", "Kasachstan", "Kazachstan"},
	{"LA", "LAO", "Laos", "Lao People's Democratic Republic", "Lao PDR"},
	{"LB", "LBN", "Lebanon", "Lebanese Republic", "Libanon", "Liban", "Líbano", "لبنان"},
	{"LC", "LCA", "Saint Lucia", "St Lucia"},
	{"LI", "LIE", "Liechtenstein", "Principality of Liechtenstein"},
	{"LK", "LKA", "Sri Lanka", "Democratic Socialist Republic of Sri Lanka", "Ceylon"},
	{"LR", "LBR", "Liberia", "Republic of Liberia"},
	{"LS", "LSO", "Lesotho", "Kingdom of Lesotho"},
	{"LT", "LTU", "Lithuania", "Republic of Lithuania", "Lietuva", "Lietuvos Respublika", "Liettua", "Litauen", "Lituanie", "Lituania", "Litwa", "Litva", "Litvánia", "Litouwen", "Leedu", "Литва"},
	{"LU", "LUX", "Luxembourg", "Grand Duchy of Luxembourg", "Lëtzebuerg", "Luxemburg", "Grand-Duché de Luxembourg", "Großherzogtum Luxemburg", "Luxemburgo", "Lussemburgo", "Luksemburg", "Lucembursko", "Luxembursko", "Luksemburga", "Liuksemburgas", "Люксембург"},
	{"LV", "LVA", "Latvia", "Republic of Latvia", "Latvija", "Latvijas Republika", "Lettland", "Lettonie", "Letonia", "Lettonia", "Łotwa", "Lotyšsko", "Lettország", "Letland", "Läti", "Латвия"},
	{"LY", "LBY", "Libya", "Libyen", "Libye", "Libia", "ليبيا"},
	{"MA", "MAR", "Morocco", "Kingdom of Morocco", "Marokko", "Marocko", "Maroc", "Marruecos", "Marocco", "Marrocos", "المغرب"},
	{"MC", "MCO", "Monaco", "Principality of Monaco", "Monako"},
	{"MD", "MDA", "Moldova", "Moldova, Republic of", "Republic of Moldova", "Moldavia", "Moldavien", "Moldavie", "Mołdawia", "Молдова", "Молдавия"},
	{"ME", "MNE", "Montenegro", "Crna Gora", "Црна Гора", "Czarnogóra", "Černá Hora"},
	{"MF", "MAF", "Saint Martin", "Saint Martin (French part)", "St Martin", "Collectivity of Saint Martin"},
	{"MG", "MDG", "Madagascar", "Republic of Madagascar", "Madagaskar"},
	{"MH", "MHL", "Marshall Islands", "Republic of the Marshall Islands", "Marshallinsaaret"},
	{"MK", "MKD", "North Macedonia", "Republic of North Macedonia", "Macedonia", "FYROM", "Former Yugoslav Republic of Macedonia", "Северна Македонија", "Severna Makedonija", "Македонија", "Pohjois-Makedonia", "Nordmakedonien", "Nordmazedonien", "Macédoine du Nord", "Macedonia del Norte", "Macedonia del Nord", "Macedonia Północna", "Severní Makedonie", "Észak-Macedónia"},
	{"ML", "MLI", "Mali", "Republic of Mali"},
	{"MM", "MMR", "Myanmar", "Republic of Myanmar", "Burma"},
	{"MN", "MNG", "Mongolia", "Mongolei", "Mongolie", "Mongoliet", "Монгол Улс"},
	{"MO", "MAC", "Macao", "Macao Special Administrative Region of China", "Macau", "澳門", "澳门", "Macao SAR", "Macau SAR"},
	{"MP", "MNP", "Northern Mariana Islands", "Commonwealth of the Northern Mariana Islands", "Northern Marianas"},
	{"MQ", "MTQ", "Martinique"},
	{"MR", "MRT", "Mauritania", "Islamic Republic of Mauritania", "Mauritanie", "Mauretanien"},
	{"MS", "MSR", "Montserrat"},
	{"MT", "MLT", "Malta", "Republic of Malta", "Repubblika ta' Malta", "Malte"},
	{"MU", "MUS", "Mauritius", "Republic of Mauritius", "Maurice"},
	{"MV", "MDV", "Maldives", "Republic of Maldives", "Malediivit", "Malediven", "Maldiverna", "Maldivas"},
	{"MW", "MWI", "Malawi", "Republic of Malawi"},
	{"MX", "MEX", "Mexico", "United Mexican States", "Estados Unidos Mexicanos", "Meksiko", "Mexiko", "Mexique", "Messico", "Meksyk", "Мексика"},
	{"MY", "MYS", "Malaysia", "Malesia", "Malaisie", "Malezja", "Malasia"},
	{"MZ", "MOZ", "Mozambique", "Republic of Mozambique", "Mosambik", "Moçambique", "Mosambique"},
	{"NA", "NAM", "Namibia", "Republic of Namibia"},
	{"NC", "NCL", "New Caledonia", "Nouvelle-Calédonie", "Uusi-Kaledonia"},
	{"NE", "NER", "Niger", "Republic of the Niger"},
	{"NF", "NFK", "Norfolk Island"},
	{"NG", "NGA", "Nigeria", "Federal Republic of Nigeria"},
	{"NI", "NIC", "Nicaragua", "Republic of Nicaragua"},
	{"NL", "NLD", "Netherlands", "Kingdom of the Netherlands", "The Netherlands", "Holland", "Nederland", "Koninkrijk der Nederlanden", "Netherlands (Kingdom of the)", "Alankomaat", "Hollanti", "Nederländerna", "Niederlande", "Pays-Bas", "Países Bajos", "Paesi Bassi", "Países Baixos", "Holandia", "Niderlandy", "Nizozemsko", "Holandsko", "Hollandia", "Madalmaad", "Nīderlande", "Nyderlandai", "Nizozemska", "Нидерланды", "Голландия", "オランダ", "荷兰", "荷蘭", "네덜란드"},
	{"NO", "NOR", "Norway", "Kingdom of Norway", "Norge", "Noreg", "Kongeriket Norge", "Norja", "Norwegen", "Norvège", "Noruega", "Norvegia", "Norwegia", "Norsko", "Noorwegen", "Norra", "Norvēģija", "Norveška", "Норвегия"},
	{"NP", "NPL", "Nepal", "Federal Democratic Republic of Nepal"},
	{"NR", "NRU", "Nauru", "Republic of Nauru"},
	{"NU", "NIU", "Niue"},
	{"NZ", "NZL", "New Zealand", "Aotearoa", "Uusi-Seelanti", "Nya Zeeland", "Neuseeland", "Nouvelle-Zélande", "Nueva Zelanda", "Nuova Zelanda", "Nowa Zelandia", "Nieuw-Zeeland"},
	{"OM", "OMN", "Oman", "Sultanate of Oman", "عمان"},
	{"PA", "PAN", "Panama", "Republic of Panama"},
	{"PE", "PER", "Peru", "Republic of Peru", "Pérou"},
	{"PF", "PYF", "French Polynesia", "Polynésie française", "Ranskan Polynesia"},
	{"PG", "PNG", "Papua New Guinea", "Independent State of Papua New Guinea", "Papua-Uusi-Guinea", "Papua-Neuguinea"},
	{"PH", "PHL", "Philippines", "Republic of the Philippines", "Filippiinit", "Filippinerna", "Philippinen", "Filipinas", "Filipiny", "Pilipinas"},
	{"PK", "PAK", "Pakistan", "Islamic Republic of Pakistan", "پاکستان"},
	{"PL", "POL", "Poland", "Republic of Poland", "Polska", "Rzeczpospolita Polska", "Puola", "Polen", "Pologne", "Polonia", "Polsko", "Lengyelország", "Poola", "Polija", "Lenkija", "Poljska", "Польша", "Польща", "ポーランド", "波兰", "波蘭"},
	{"PM", "SPM", "Saint Pierre and Miquelon", "St Pierre and Miquelon", "Saint-Pierre-et-Miquelon"},
	{"PN", "PCN", "Pitcairn Islands", "Pitcairn"},
	{"PR", "PRI", "Puerto Rico"},
	{"PS", "PSE", "Palestine", "Palestine, State of", "the State of Palestine", "State of Palestine", "Palestinian Territories", "Palestinian Territory", "Palestiina", "Palästina", "Palestina", "فلسطين"},
	{"PT", "PRT", "Portugal", "Portuguese Republic", "República Portuguesa", "Portugali", "Portugalia", "Portugalsko", "Portogallo", "Portugāle", "Portugalija", "Португалия"},
	{"PW", "PLW", "Palau", "Republic of Palau"},
	{"PY", "PRY", "Paraguay", "Republic of Paraguay", "Paraguai"},
	{"QA", "QAT", "Qatar", "State of Qatar", "Katar", "قطر"},
	{"RE", "REU", "Réunion", "La Réunion"},
	{"RO", "ROU", "Romania", "Roumanie", "Rumänien", "Rumania", "Rumunia", "Rumunsko", "Roemenië", "Rumeenia", "Rumānija", "Rumunija", "Rumunjska", "Romunija", "Румыния"},
	{"RS", "SRB", "Serbia", "Republic of Serbia", "Србија", "Srbija", "Serbien", "Serbie", "Srbsko", "Szerbia", "Servië", "Сербия"},
	{"RU", "RUS", "Russia", "Russian Federation", "Россия", "Российская Федерация", "Rossiya", "Rossija", "Venäjä", "Ryssland", "Russland", "Russie", "Rusia", "Rosja", "Rusko", "Oroszország", "Rusland", "Venemaa", "Krievija", "Rusija", "Росія", "ロシア", "俄罗斯", "俄羅斯", "러시아"},
	{"RW", "RWA", "Rwanda", "Rwandese Republic", "Ruanda"},
	{"SA", "SAU", "Saudi Arabia", "Kingdom of Saudi Arabia", "KSA", "Saudiarabien", "Arabie saoudite", "Arabia Saudita", "Arabia Saudí", "Arabia Saudyjska", "Saúdská Arábie", "السعودية", "المملكة العربية السعودية"},
	{"SB", "SLB", "Solomon Islands", "Salomonsaaret"},
	{"SC", "SYC", "Seychelles", "Republic of Seychelles", "Seychellit"},
	{"SD", "SDN", "Sudan", "Republic of the Sudan", "Soudan"},
	{"SE", "SWE", "Sweden", "Kingdom of Sweden", "Sverige", "Konungariket Sverige", "Ruotsi", "Schweden", "Suède", "Suecia", "Svezia", "Szwecja", "Švédsko", "Svédország", "Zweden", "Rootsi", "Zviedrija", "Švedija", "Švedska", "Швеция", "Швеція", "スウェーデン", "瑞典", "스웨덴"},
	{"SG", "SGP", "Singapore", "Republic of Singapore", "Singapur", "Singapour", "Singapura", "新加坡"},
	{"SH", "SHN", "Saint Helena, Ascension and Tristan da Cunha", "Saint Helena", "St Helena", "Ascension Island", "Tristan da Cunha"},
	{"SI", "SVN", "Slovenia", "Republic of Slovenia", "Slovenija", "Republika Slovenija", "Slowenien", "Slovenien", "Slovénie", "Eslovenia", "Słowenia", "Slovinsko", "Szlovénia", "Sloveenia", "Словения"},
	{"SJ", "SJM", "Svalbard and Jan Mayen", "Svalbard", "Jan Mayen", "Huippuvuoret"},
	{"SK", "SVK", "Slovakia", "Slovak Republic", "Slovensko", "Slovenská republika", "Slowakei", "Slovakien", "Slovaquie", "Eslovaquia", "Slovacchia", "Słowacja", "Szlovákia", "Slowakije", "Slovakkia", "Slovākija", "Slovačka", "Словакия"},
	{"SL", "SLE", "Sierra Leone", "Republic of Sierra Leone"},
	{"SM", "SMR", "San Marino", "Republic of San Marino"},
	{"SN", "SEN", "Senegal", "Republic of Senegal"},
	{"SO", "SOM", "Somalia", "Federal Republic of Somalia", "Soomaaliya", "Somalie"},
	{"SR", "SUR", "Suriname", "Republic of Suriname", "Surinam"},
	{"SS", "SSD", "South Sudan", "Republic of South Sudan", "Etelä-Sudan", "Südsudan", "Sydsudan"},
	{"ST", "STP", "Sao Tome and Principe", "Democratic Republic of Sao Tome and Principe", "São Tomé & Príncipe", "São Tomé e Príncipe"},
	{"SV", "SLV", "El Salvador", "Republic of El Salvador", "Salvador"},
	{"SX", "SXM", "Sint Maarten", "Sint Maarten (Dutch part)", "St Maarten", "Saint Maarten"},
	{"SY", "SYR", "Syria", "Syrian Arab Republic", "Syyria", "Syrien", "Syrie", "Siria", "سوريا"},
	{"SZ", "SWZ", "Eswatini", "Kingdom of Eswatini", "Swaziland", "Kingdom of Swaziland"},
	{"TC", "TCA", "Turks and Caicos Islands", "Turks & Caicos", "Turks and Caicos"},
	{"TD", "TCD", "Chad", "Republic of Chad", "Tchad", "Tšad", "Tschad"},
	{"TF", "ATF", "French Southern Territories", "French Southern and Antarctic Lands", "TAAF", "Terres australes et antarctiques françaises"},
	{"TG", "TGO", "Togo", "Togolese Republic"},
	{"TH", "THA", "Thailand", "Kingdom of Thailand", "Thaimaa", "Thaïlande", "Tailandia", "Tajlandia", "Thajsko", "ประเทศไทย", "Siam"},
	{"TJ", "TJK", "Tajikistan", "Republic of Tajikistan", "Tadžikistan", "Tadschikistan", "Tadzjikistan"},
	{"TK", "TKL", "Tokelau"},
	{"TL", "TLS", "Timor-Leste", "Democratic Republic of Timor-Leste", "East Timor", "Itä-Timor", "Osttimor", "Timor Oriental"},
	{"TM", "TKM", "Turkmenistan"},
	{"TN", "TUN", "Tunisia", "Republic of Tunisia", "Tunisie", "Tunesien", "Túnez", "تونس"},
	{"TO", "TON", "Tonga", "Kingdom of Tonga"},
	{"TR", "TUR", "Türkiye", "Republic of Türkiye", "Turkey", "Republic of Turkey", "Türkiye Cumhuriyeti", "Turkki", "Turkiet", "Tyrkia", "Tyrkiet", "Türkei", "Turquie", "Turquía", "Turchia", "Turcja", "Turecko", "Törökország", "Turkije", "Türgi", "Turcija", "Turkija", "Turska", "Турция", "トルコ"},
	{"TT", "TTO", "Trinidad and Tobago", "Republic of Trinidad and Tobago", "Trinidad & Tobago", "Trinidad"},
	{"TV", "TUV", "Tuvalu"},
	{"TW", "TWN", "Taiwan", "Taiwan, Province of China", "台灣", "台湾", "臺灣", "Republic of China", "ROC", "Chinese Taipei", "Taiwan (Republic of China)"},
	{"TZ", "TZA", "Tanzania", "Tanzania, United Republic of", "United Republic of Tanzania", "Tansania"},
	{"UA", "UKR", "Ukraine", "Україна", "Украина", "Ukraina", "Ukrajina", "Ucrania", "Ucraina", "Ukrajna", "Oekraïne", "Ukrayina", "Ukraiina"},
	{"UG", "UGA", "Uganda", "Republic of Uganda"},
	{"UM", "UMI", "United States Minor Outlying Islands", "U.S. Minor Outlying Islands"},
	{"US", "USA", "United States", "United States of America", "America", "Amerika", "Yhdysvallat", "Amerikan yhdysvallat", "Förenta staterna", "Amerikas förenta stater", "Vereinigte Staaten", "Vereinigte Staaten von Amerika", "États-Unis", "États-Unis d'Amérique", "Estados Unidos", "Estados Unidos de América", "EEUU", "EUA", "Stati Uniti", "Stati Uniti d'America", "Stany Zjednoczone", "Spojené státy", "Spojené státy americké", "Verenigde Staten", "Amerikai Egyesült Államok", "Ameerika Ühendriigid", "Amerikas Savienotās Valstis", "Jungtinės Valstijos", "Sjedinjene Američke Države", "США", "Соединённые Штаты Америки", "Соединенные Штаты", "アメリカ", "アメリカ合衆国", "美国", "美國", "미국"},
	{"UY", "URY", "Uruguay", "Eastern Republic of Uruguay"},
	{"UZ", "UZB", "Uzbekistan", "Republic of Uzbekistan", "Oʻzbekiston", "O'zbekiston", "Usbekistan", "Oezbekistan"},
	{"VA", "VAT", "Vatican City", "Holy See (Vatican City State)", "Holy See", "Vatican City State", "Vatican", "Città del Vaticano", "Stato della Città del Vaticano", "Vaticano", "Vatikaani", "Vatikanstaten", "Vatikanstadt", "Vatikan", "Watykan"},
	{"VC", "VCT", "Saint Vincent and the Grenadines", "St Vincent and the Grenadines", "St. Vincent & the Grenadines", "Saint Vincent", "St Vincent"},
	{"VE", "VEN", "Venezuela", "Venezuela, Bolivarian Republic of", "Bolivarian Republic of Venezuela"},
	{"VG", "VGB", "British Virgin Islands", "Virgin Islands, British", "BVI", "Brittiläiset Neitsytsaaret"},
	{"VI", "VIR", "U.S. Virgin Islands", "Virgin Islands, U.S.", "Virgin Islands of the United States", "USVI", "United States Virgin Islands", "Yhdysvaltain Neitsytsaaret"},
	{"VN", "VNM", "Vietnam", "Socialist Republic of Viet Nam", "Wietnam"},
	{"VU", "VUT", "Vanuatu", "Republic of Vanuatu"},
	{"WF", "WLF", "Wallis and Futuna", "Wallis & Futuna", "Wallis-et-Futuna"},
	{"WS", "WSM", "Samoa", "Independent State of Samoa", "Western Samoa"},
	{"XK", "XKX", "Kosovo", "Kosova", "Kosovë", "Косово", "Republic of Kosovo", "XKK"},
	{"YE", "YEM", "Yemen", "Republic of Yemen", "Jemen", "اليمن"},
	{"YT", "MYT", "Mayotte"},
	{"ZA", "ZAF", "South Africa", "Republic of South Africa", "RSA", "Etelä-Afrikka", "Sydafrika", "Südafrika", "Afrique du Sud", "Sudáfrica", "África do Sul", "Zuid-Afrika", "Suid-Afrika", "Republiek van Suid-Afrika", "Lõuna-Aafrika"},
	{"ZM", "ZMB", "Zambia", "Republic of Zambia", "Sambia"},
	{"ZW", "ZWE", "Zimbabwe", "Republic of Zimbabwe", "Simbabwe"},
}

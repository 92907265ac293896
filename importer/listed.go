package importer

import (
	"fmt"
	"strings"
)

// MaxListed is how many unmapped column names a report names, on the command line and on
// the web page alike: a file may have up to MaxColumns columns, and a header of garbage
// once printed megabytes of names.
const MaxListed = 10

// FirstListed returns the first MaxListed names and how many are left unnamed.
func FirstListed(names []string) (shown []string, more int) {
	if len(names) <= MaxListed {
		return names, 0
	}
	return names[:MaxListed], len(names) - MaxListed
}

// ListSome joins the first MaxListed names and counts the rest.
func ListSome(names []string) string {
	shown, more := FirstListed(names)
	if more == 0 {
		return strings.Join(shown, ", ")
	}
	return fmt.Sprintf("%s and %d more (%d columns in all)", strings.Join(shown, ", "), more, len(names))
}

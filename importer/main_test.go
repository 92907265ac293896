package importer_test

import (
	"testing"

	"github.com/leadmailer/leadmailer/store/storetest"
)

// TestMain stops the PostgreSQL cluster the tests over both databases start.
func TestMain(m *testing.M) { storetest.Main(m) }

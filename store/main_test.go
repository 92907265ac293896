package store_test

import (
	"testing"

	"github.com/leadmailer/leadmailer/store/storetest"
)

// TestMain stops the PostgreSQL cluster the backend tests start.
func TestMain(m *testing.M) { storetest.Main(m) }

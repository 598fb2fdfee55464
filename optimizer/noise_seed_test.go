package optimizer

import (
	"testing"

	"github.com/dpmpi/dpmpi/internal/seed"
)

// TestSeededStreamLabel pins the noise stream word to internal/seed's
// label, the name under which internal/seed's doc lists it.
func TestSeededStreamLabel(t *testing.T) {
	if seededStream != seed.Label("dpmpi-no") {
		t.Fatalf("seededStream = %#x, seed.Label(\"dpmpi-no\") = %#x", uint64(seededStream), seed.Label("dpmpi-no"))
	}
}

package seed_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/dpmpi/dpmpi/internal/seed"
)

// A per-rank stream and a keyed ChaCha8 stream from one user seed.
func Example() {
	const user = 42
	noise := rand.New(rand.NewPCG(seed.ForRank(user, "noise", 3), seed.Label("dpmpi-no")))
	shuffle := rand.New(rand.NewChaCha8(seed.Key("example shuffle", user, 0)))
	fmt.Println(noise.Uint64() != shuffle.Uint64())
	// Output: true
}

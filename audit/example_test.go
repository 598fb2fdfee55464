package audit_test

import (
	"fmt"

	"github.com/dpmpi/dpmpi/audit"
	"github.com/dpmpi/dpmpi/optimizer/optimizertest"
)

// A membership test that missed half of 1000 canaries and raised 5 false
// alarms among 1000 trials without a canary rules out ε below this, with
// 95% confidence, for δ = 1e-5.
func ExampleEpsilonLowerBound() {
	fmt.Printf("ε ≥ %.3f\n", audit.EpsilonLowerBound(5, 1000, 500, 1000, 1e-5, 0.95))
	// Output: ε ≥ 3.696
}

// Ten right guesses out of ten in a one-run audit of 1000 canaries.
func ExampleOneRunEpsilon() {
	fmt.Printf("ε ≥ %.3f\n", audit.OneRunEpsilon(1000, 10, 10, 0, 0.95))
	// Output: ε ≥ 1.052
}

// Audit the simple distributed optimizer in one process (under mpirun,
// pass the MPI world instead).
func ExampleRun() {
	r, err := audit.Run(audit.Experiment{Optimizer: audit.Simple, NoiseMultiplier: 1, SampleRate: 0.5, Steps: 8, Canaries: 1 << 13, Runs: 2, Seed: 1},
		optimizertest.NewWorld[float64](1).Comm(0))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("claimed ε at δ=1e-5: RDP %.2f, PRV %.2f\n", r.ClaimedRDP, r.ClaimedPRV)
	fmt.Printf("empirical bound above 2: %v; flagged: %v\n", r.Bound.Epsilon > 2, r.Flagged)
	// Output:
	// claimed ε at δ=1e-5: RDP 10.33, PRV 9.35
	// empirical bound above 2: true; flagged: false
}

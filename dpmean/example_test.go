package dpmean_test

import (
	"fmt"

	"github.com/dpmpi/dpmpi/dpmean"
	"github.com/dpmpi/dpmpi/optimizer"
)

// alone is a Communicator of one process; MPI programs pass their
// *mpi.Comm instead.
type alone struct{}

func (alone) Rank() int                    { return 0 }
func (alone) AllreduceSum([]float64) error { return nil }
func (alone) Bcast([]float64, int) error   { return nil }

// The private mean of four 2-vectors: the last one, of norm 5, is clipped
// to norm R = 2 before the sum, and noise of std σR = 0.02 is added to it.
func ExampleMean() {
	rows := []float64{
		1, 0,
		0, 1,
		1, 1,
		3, 4,
	}
	cfg := dpmean.Config{ClipNorm: 2, NoiseMultiplier: 0.01, N: 4}
	m, err := dpmean.Mean(alone{}, rows, 2, cfg, optimizer.NewSeededGenerator(1))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("mean ≈ (%.2f, %.2f); without noise (0.80, 0.90)\n", m[0], m[1])
	// Output:
	// mean ≈ (0.79, 0.89); without noise (0.80, 0.90)
}

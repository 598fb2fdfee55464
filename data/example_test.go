package data_test

import (
	"fmt"
	"log"
	"slices"

	"github.com/dpmpi/dpmpi/data"
)

// Poisson sampling on rank 1 of 4: the rank samples its strided shard with
// its own stream; every rank runs StepsPerEpoch steps, empty batches
// included.
func ExampleSampler() {
	q, steps, err := data.RateForBatchSize(60000, 256) // Opacus: m = ⌈N/b⌉ batches, q = 1/m
	if err != nil {
		log.Fatal(err)
	}
	s, err := data.NewSampler(data.SamplerConfig{
		N: 60000, Rate: q, Rank: 1, World: 4, Seed: 42, Shuffle: true, ShuffleSeed: 7,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("steps per epoch:", steps, s.StepsPerEpoch())
	fmt.Println("shard size:", len(s.Shard()))
	fmt.Printf("rate %.6f, expected local batch %.2f\n", s.Rate(), s.ExpectedBatchSize())
	var batch []int
	for s.Epoch() == 0 {
		batch = s.Next(batch) // sorted dataset indices, possibly none
		if !slices.IsSorted(batch) {
			log.Fatal("unsorted batch")
		}
	}
	state, err := s.MarshalBinary() // store in a checkpoint to resume exactly
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("state saved at epoch", s.Epoch(), "step", s.Step(), len(state) > 0)
	// Output:
	// steps per epoch: 235 235
	// shard size: 15000
	// rate 0.004255, expected local batch 63.83
	// state saved at epoch 1 step 0 true
}

// A logical batch of 10 samples with at most 3 per physical batch: the
// optimizer skips the step for all but the last physical batch.
func ExampleSplit() {
	logical := []int{3, 8, 15, 16, 23, 42, 51, 60, 77, 91}
	for phys, skip := range data.Split(logical, 3) {
		fmt.Println(phys, "skip:", skip)
	}
	// Output:
	// [3 8 15] skip: true
	// [16 23 42] skip: true
	// [51 60] skip: true
	// [77 91] skip: false
}

func ExampleLoadFashionMNIST() {
	// "" reads /usr/share/datasets/fashion-mnist (apt-get install
	// dataset-fashion-mnist) or $DPMPI_FASHION_MNIST.
	test, err := data.LoadFashionMNIST("", false) // true for the training split
	if err != nil {
		log.Fatal(err)
	}
	x := make([]float64, 2*test.Dim())
	y := make([]int, 2)
	test.Batch([]int{0, 1}, x, y) // normalised pixels and labels
	fmt.Println(test.N, test.Rows, test.Cols, test.Classes)
	// Output:
	// 10000 28 28 10
}

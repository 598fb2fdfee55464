package scatter_test

import (
	"fmt"
	"log"
	"math"

	"github.com/dpmpi/dpmpi/features/scatter"
)

func Example() {
	// Tramèr & Boneh's ScatterNet for 28×28 images: J = 2, L = 8, order 2.
	s, err := scatter.New(scatter.Kymatio(28, 28))
	if err != nil {
		log.Fatal(err)
	}
	rows, cols := s.OutSize()
	fmt.Printf("%d channels of %d×%d = %d features per image\n", s.Channels(), rows, cols, s.Dim())

	img := make([]float64, 28*28) // pixels in [0, 1], row-major
	for i := range img {
		img[i] = 0.5
	}
	feat := make([]float64, s.Dim())
	s.Transform(feat, img, s.NewWorkspace())
	fmt.Printf("order 0 of a constant 0.5 image: %.4f; |order 1| < 1e-12: %v\n", feat[0], math.Abs(feat[49]) < 1e-12)
	fmt.Println("channel 17 is", s.Paths()[17])
	fmt.Printf("built with J = %d, L = %d\n", s.Config().J, s.Config().L)
	// Output:
	// 81 channels of 7×7 = 3969 features per image
	// order 0 of a constant 0.5 image: 0.5000; |order 1| < 1e-12: true
	// channel 17 is {2 0 0 1 0}
	// built with J = 2, L = 8
}

func ExampleCompress() {
	// Coefficients of blank regions come out of the FFT as rounding noise
	// of either sign; Compress clamps them before taking the power.
	coef := []float64{-2e-4, 0.0025, 0.04, 0.25}
	scatter.Compress(coef, 0.5)
	fmt.Println(coef)
	// Output:
	// [0 0.05 0.2 0.5]
}

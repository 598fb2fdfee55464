package accountant_test

import (
	"fmt"

	"github.com/dpmpi/dpmpi/accountant"
)

// The MNIST setting of Opacus's examples: batch 256 of 60,000, σ = 1.1,
// 60 epochs.
func Example() {
	q := 256.0 / 60000
	steps, _ := accountant.StepsForEpochs(60, q)
	acc, _ := accountant.New("rdp")
	for i := 0; i < steps; i++ {
		acc.Step(1.1, q) // what the optimizer's step hook records
	}
	eps, _ := acc.Epsilon(1e-5)
	fmt.Printf("%d steps: ε = %.4f\n", steps, eps)
	// Output: 14062 steps: ε = 2.5966
}

func ExampleCalibrate() {
	sigma, eps, err := accountant.Calibrate(accountant.RDP{}, accountant.Calibration{
		TargetEpsilon: 8, Delta: 1e-5, SampleRate: 0.04, Steps: 2250})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("σ = %v (ε = %.3f)\n", sigma, eps)
	// Output: σ = 1.416015625 (ε = 7.998)
}

func ExamplePRV_Bounds() {
	h, _ := accountant.ParseHistory("1.0:0.01:500,2.0:0.02:300")
	b, _ := accountant.PRV{}.Bounds(h, 1e-5)
	fmt.Printf("ε in [%.3f, %.3f], estimate %.3f\n", b.Lower, b.Upper, b.Estimate)
	// Output: ε in [1.492, 1.512], estimate 1.502
}

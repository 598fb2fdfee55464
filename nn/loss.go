package nn

import (
	"fmt"
	"math"
)

// SoftmaxCrossEntropy computes, for n = len(labels) samples, the
// per-example cross-entropy losses ℓ_i = −log softmax(z_i)[y_i] of logits z
// (n×classes, row-major) and their gradients ∂ℓ_i/∂z_i = softmax(z_i) −
// onehot(y_i) into dlogits, which is the seed for Backward. losses may be
// nil. The maximum, the exponentials, their sum and its logarithm are
// computed in float64 whatever F is, and the results rounded to F. It
// returns an error naming the sample if a label is outside [0, classes); it
// panics on mismatched slice lengths.
func SoftmaxCrossEntropy[F Float](logits []F, labels []int, classes int, losses, dlogits []F) error {
	n := len(labels)
	if len(logits) != n*classes || len(dlogits) != n*classes || (losses != nil && len(losses) != n) {
		panic("nn: SoftmaxCrossEntropy: slice lengths do not match n = len(labels) and classes")
	}
	for i, y := range labels {
		if y < 0 || y >= classes {
			return fmt.Errorf("nn: SoftmaxCrossEntropy: sample %d has label %d, outside [0, %d)", i, y, classes)
		}
		z := logits[i*classes : (i+1)*classes]
		d := dlogits[i*classes : (i+1)*classes]
		m := math.Inf(-1)
		for _, v := range z {
			m = math.Max(m, float64(v))
		}
		var sum float64
		for j, v := range z {
			e := math.Exp(float64(v) - m)
			d[j] = F(e)
			sum += e
		}
		inv := 1 / sum
		for j := range d {
			d[j] = F(float64(d[j]) * inv)
		}
		if losses != nil {
			losses[i] = F(m + math.Log(sum) - float64(z[y]))
		}
		d[y] -= 1
	}
	return nil
}

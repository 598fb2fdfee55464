package nn

import "github.com/dpmpi/dpmpi/nn/internal/vecmath"

// tanhSlice stores tanh(x[i]) in y[i], within a few ulp (vecmath.Tanh:
// vector blocks with AVX2 and FMA on amd64, the same method in Go
// elsewhere). It panics if len(y) < len(x).
func tanhSlice[F Float](y, x []F) { vecmath.Tanh(y, x) }

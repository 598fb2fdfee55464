package dpmean

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/floats"

	"github.com/dpmpi/dpmpi/optimizer"
)

// Communicator is what Mean needs of the ranks: an element-wise sum over
// them and a broadcast. *mpi.Comm satisfies it.
type Communicator interface {
	// Rank returns this process's rank.
	Rank() int
	// AllreduceSum replaces buf, on every rank, by the sum of buf over all
	// ranks.
	AllreduceSum(buf []float64) error
	// Bcast replaces buf, on every rank, by root's buf.
	Bcast(buf []float64, root int) error
}

// Config is the mechanism's parameters.
type Config struct {
	// ClipNorm is R, the largest norm a sample's vector keeps; > 0.
	ClipNorm float64
	// NoiseMultiplier is σ: the noise's standard deviation is σ·R; > 0.
	NoiseMultiplier float64
	// N is the number of samples of the whole data set over all ranks,
	// the public divisor; > 0.
	N int
	// Secure draws the noise as optimizer.AddNoise does in secure mode
	// (the Generator must then be an *optimizer.SecureGenerator).
	Secure bool
}

func (c Config) validate() error {
	switch {
	case !(c.ClipNorm > 0) || math.IsInf(c.ClipNorm, 0):
		return fmt.Errorf("dpmean: clip norm R = %v; give a positive, finite bound on a sample's norm", c.ClipNorm)
	case !(c.NoiseMultiplier > 0) || math.IsInf(c.NoiseMultiplier, 0):
		return fmt.Errorf("dpmean: noise multiplier σ = %v; give a positive, finite σ (the mean is never released without noise)", c.NoiseMultiplier)
	case c.N <= 0:
		return fmt.Errorf("dpmean: data set size N = %d; give the number of samples over all ranks", c.N)
	}
	return nil
}

// Mean returns the private estimate of the mean of the vectors of dim
// values held sample-major in rows (this rank's samples; any number,
// including none), with cfg's mechanism; g draws rank 0's noise and is not
// used on other ranks (it may be nil there). Every rank must call Mean, with
// the same dim and cfg; all of them receive rank 0's result, so the
// estimate is the same, bit for bit, on every rank.
//
// It returns an error, naming the sample, if a value is NaN or infinite.
// It panics if len(rows) is not a multiple of dim.
func Mean(c Communicator, rows []float64, dim int, cfg Config, g optimizer.Generator) ([]float64, error) {
	if dim <= 0 || len(rows)%dim != 0 {
		panic(fmt.Sprintf("dpmean: %d values do not make rows of %d", len(rows), dim))
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if c.Rank() == 0 && g == nil {
		return nil, errors.New("dpmean: rank 0 needs a noise generator")
	}
	sum := make([]float64, dim+1) // the sum, then a flag: some rank saw a bad value
	for i := 0; i < len(rows)/dim; i++ {
		x := rows[i*dim : (i+1)*dim]
		n := floats.Norm(x, 2)
		if math.IsNaN(n) || math.IsInf(n, 0) {
			sum[dim] = 1
			// Every rank still enters the collectives below.
			if err := c.AllreduceSum(sum); err != nil {
				return nil, err
			}
			return nil, fmt.Errorf("dpmean: rank %d: sample %d of this rank holds a value that is NaN or infinite (norm %v); clean the data before estimating its mean", c.Rank(), i, n)
		}
		f := 1.0
		if n > cfg.ClipNorm {
			f = cfg.ClipNorm / (n + 1e-6)
		}
		floats.AddScaled(sum[:dim], f, x)
	}
	if c.Rank() == 0 {
		optimizer.AddNoise(sum[:dim], cfg.NoiseMultiplier*cfg.ClipNorm, g, cfg.Secure)
	}
	if err := c.AllreduceSum(sum); err != nil {
		return nil, err
	}
	if sum[dim] != 0 {
		return nil, errors.New("dpmean: another rank holds a NaN or infinite value (see its message)")
	}
	mean := sum[:dim]
	floats.Scale(1/float64(cfg.N), mean)
	if err := c.Bcast(mean, 0); err != nil {
		return nil, err
	}
	return mean, nil
}

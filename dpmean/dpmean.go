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
// An invalid cfg, a missing generator on rank 0, or a NaN or infinite value
// on any rank is an error on every rank (naming the rank and the sample
// where it is), after the same collectives, so that no rank waits for
// another. It panics if len(rows) is not a multiple of dim.
func Mean(c Communicator, rows []float64, dim int, cfg Config, g optimizer.Generator) ([]float64, error) {
	if dim <= 0 || len(rows)%dim != 0 {
		panic(fmt.Sprintf("dpmean: %d values do not make rows of %d", len(rows), dim))
	}
	rank := c.Rank()
	// The sum, then two flags: some rank's configuration is invalid, some
	// rank holds a bad value.
	sum := make([]float64, dim+2)
	badCfg, badValue := &sum[dim], &sum[dim+1]
	cfgErr := cfg.validate()
	if cfgErr == nil && rank == 0 && g == nil {
		cfgErr = errors.New("dpmean: rank 0 needs a noise generator")
	}
	var valueErr error
	if cfgErr != nil {
		*badCfg = 1
	} else {
		valueErr = clippedSum(sum[:dim], rows, dim, cfg.ClipNorm)
		if valueErr != nil {
			*badValue = 1
			valueErr = fmt.Errorf("dpmean: rank %d: %w", rank, valueErr)
		}
	}
	if rank == 0 && *badCfg == 0 && *badValue == 0 {
		optimizer.AddNoise(sum[:dim], cfg.NoiseMultiplier*cfg.ClipNorm, g, cfg.Secure)
	}
	if err := c.AllreduceSum(sum); err != nil {
		return nil, err
	}
	switch {
	case *badCfg != 0 && cfgErr != nil:
		return nil, cfgErr
	case *badCfg != 0:
		return nil, errors.New("dpmean: another rank's configuration is invalid (see its message)")
	case *badValue != 0 && valueErr != nil:
		return nil, valueErr
	case *badValue != 0:
		return nil, errors.New("dpmean: another rank holds a NaN or infinite value (see its message)")
	}
	mean := sum[:dim]
	floats.Scale(1/float64(cfg.N), mean)
	if err := c.Bcast(mean, 0); err != nil {
		return nil, err
	}
	return mean, nil
}

// clippedSum adds to dst the rows of x, each scaled to norm at most clip;
// it stops at the first row holding a NaN or an infinity.
func clippedSum(dst, x []float64, dim int, clip float64) error {
	for i := 0; i < len(x)/dim; i++ {
		row := x[i*dim : (i+1)*dim]
		n := floats.Norm(row, 2)
		if math.IsNaN(n) || math.IsInf(n, 0) {
			return fmt.Errorf("sample %d of this rank holds a value that is NaN or infinite (norm %v); clean the data before estimating its mean", i, n)
		}
		f := 1.0
		if n > clip {
			f = clip / (n + 1e-6)
		}
		floats.AddScaled(dst, f, row)
	}
	return nil
}

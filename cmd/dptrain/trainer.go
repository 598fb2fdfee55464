package main

import (
	"io"
	"os"
	"sync/atomic"

	"github.com/dpmpi/dpmpi/accountant"
	"github.com/dpmpi/dpmpi/data"
	"github.com/dpmpi/dpmpi/nn"
	"github.com/dpmpi/dpmpi/optimizer"
)

// trainer holds one rank's training state in precision F (--precision):
// the model, its gradients, the optimizer and the gradient reductions
// compute in F; data, losses, norms, noise, the accountant and checkpoints
// stay float64. Its parts are built by setup (setup.go), restored by resume
// (resume.go), advanced by loop (loop.go) and guarded by planBudget
// (budget.go).
type trainer[F optimizer.Float] struct {
	c *config
	team
	grads optimizer.Communicator[F] // the gradient reductions, in F
	log   outputs
	data  dataset
	net   learner[F]
	rng   streams
	priv  privacy
	plan  schedule
	id    runIdentity

	step  int      // logical steps applied to the parameters
	next  nextStep // the step about to run, for the step hook
	tally tally
	stop  *atomic.Bool // set by SIGTERM/SIGUSR1
	aug   *augmenter   // --multiplicity, --augment, --augment-views; nil: none
	read  *ckptState   // rank 0, --resume: the checkpoint already read (choosePrecision); nil: read it
}

// team is this rank's place in the job.
type team struct {
	comm  comm
	rank  int
	world int
}

// outputs are where the rank reports: rank 0 prints to stdout and writes
// the metrics; the others keep quiet or log to a file (--rank-logs).
type outputs struct {
	out     io.Writer
	metrics *os.File  // rank 0: --metrics; nil elsewhere
	prog    *progress // nil: no progress display
}

// dataset is the training and test data and their number of classes.
type dataset struct {
	train, test labelled
	views       []labelled // --augment-views, the training set's precomputed views
	classes     int        // labels are in [0, classes); the model has classes outputs
	mean        []float64  // --center-norm: the private mean subtracted from every sample; nil: none
}

// labelled is a split of labelled samples: data.Images (Fashion-MNIST) or
// data.Table (CSV, NumPy).
type labelled interface {
	Len() int
	Dim() int
	Batch(idx []int, x []float64, y []int)
}

// learner is the model, its parameters and the DP optimizer over them.
type learner[F optimizer.Float] struct {
	model *nn.Sequential[F]
	arena *optimizer.Arena[F]
	opt   dpOptimizer[F]
	ready func(int, optimizer.GradSource[F]) error // nil: clip after the whole backward pass
	avg   *average[F]                              // --ema; nil without
	bufs  netBufs[F]
}

// netBufs are the model's input in F (float32 runs convert each batch once;
// float64 runs use the batch itself), the per-sample losses and the loss
// gradient of the last forward pass, kept between calls.
type netBufs[F optimizer.Float] struct {
	x               []F
	losses, dlogits []F
}

// streams are the rank's random streams, saved in every checkpoint.
type streams struct {
	sampler *data.Sampler
	noise   *optimizer.BlockGenerator // nil in secure mode
}

// privacy is the mechanism's parameters and the record of what was spent.
type privacy struct {
	q, sigma float64
	prior    accountant.History // what the run spends before its steps (--center-norm's mean); nil: nothing
	acct     *accountant.Accountant
	ledger   *accountant.Ledger // rank 0 only
	pending  map[int]string     // ledger records beyond the checkpoint: step → fingerprint
	maxSteps int                // budget guard: the most steps allowed after the prior (-1: no guard)
}

// schedule is the length of the run.
type schedule struct {
	spe   int // logical steps per epoch
	total int // logical steps of the whole run
}

// nextStep is what the step hook needs to know of the step about to run.
type nextStep struct {
	state  string // rank 0: fingerprint of the state before it (the ledger tag)
	replay bool   // the ledger already records this exact release
}

// tally counts the work done by this invocation.
type tally struct {
	samples        float64 // samples drawn on this rank
	lossSum, lossN float64 // summed loss and samples since the last metrics record
}

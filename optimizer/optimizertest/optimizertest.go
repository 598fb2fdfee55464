// Package optimizertest provides in-memory communicators for testing
// distributed optimizers in one process: a world of W ranks run as
// goroutines, and a wrapper that injects communication faults.
package optimizertest

import (
	"errors"
	"fmt"
	"sync"

	"github.com/dpmpi/dpmpi/internal/prec"
	"github.com/dpmpi/dpmpi/optimizer"
)

// World is a set of in-memory communicators, one per rank, that reduce
// through shared memory, for gradients of element type F. Each rank must be
// driven by its own goroutine. The sum is taken in rank order, so results
// are deterministic; a float32 sum is rounded to float32 after every
// addition, as a float32 MPI reduction in rank order would be, while the
// communicators' float64 status reductions are summed in float64.
type World[F optimizer.Float] struct {
	mu      sync.Mutex
	cond    *sync.Cond
	size    int
	bufs    [][]float64 // contributions of the current round, by rank
	arrived int
	left    int // ranks still to collect the current result
	gen     int
	sum     []float64
	err     error
	calls   []int
	comms   []*Comm[F]
}

// NewWorld returns a world of size ranks. It panics if size < 1.
func NewWorld[F optimizer.Float](size int) *World[F] {
	if size < 1 {
		panic("optimizertest: NewWorld: size must be ≥ 1")
	}
	w := &World[F]{size: size, bufs: make([][]float64, size), calls: make([]int, size), comms: make([]*Comm[F], size)}
	w.cond = sync.NewCond(&w.mu)
	for r := range w.comms {
		w.comms[r] = &Comm[F]{w: w, rank: r}
	}
	return w
}

// Comm returns rank r's communicator.
func (w *World[F]) Comm(r int) *Comm[F] { return w.comms[r] }

// Run calls f once per rank, each in its own goroutine, and returns the
// errors by rank.
func (w *World[F]) Run(f func(rank int, comm *Comm[F]) error) []error {
	errs := make([]error, w.size)
	var wg sync.WaitGroup
	for r := range w.size {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[r] = f(r, w.Comm(r))
		}()
	}
	wg.Wait()
	return errs
}

// Calls returns the number of collectives rank r has entered.
func (w *World[F]) Calls(r int) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.calls[r]
}

func (w *World[F]) allreduce(rank int, buf []float64, round32 bool) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.calls[rank]++
	for w.left > 0 { // the previous round is still being collected
		w.cond.Wait()
	}
	w.bufs[rank] = append(w.bufs[rank][:0], buf...)
	w.arrived++
	gen := w.gen
	if w.arrived == w.size {
		w.err = nil
		n := len(w.bufs[0])
		w.sum = make([]float64, n)
		for r, b := range w.bufs {
			if len(b) != n {
				w.err = fmt.Errorf("optimizertest: rank %d reduces %d values but rank 0 reduces %d", r, len(b), n)
				break
			}
			for i, x := range b {
				w.sum[i] += x
				if round32 {
					w.sum[i] = float64(float32(w.sum[i]))
				}
			}
		}
		w.arrived = 0
		w.left = w.size
		w.gen++
		w.cond.Broadcast()
	} else {
		for w.gen == gen {
			w.cond.Wait()
		}
	}
	err := w.err
	if err == nil {
		copy(buf, w.sum)
	}
	w.left--
	if w.left == 0 {
		w.cond.Broadcast()
	}
	return err
}

// Comm is one rank's communicator in a World. It satisfies
// optimizer.Communicator[F]. A rank's collectives enter the world in the order
// they were called, also when non-blocking ones are still outstanding, as
// MPI requires.
type Comm[F optimizer.Float] struct {
	w    *World[F]
	rank int
	mu   sync.Mutex
	last chan struct{} // closed when the rank's latest collective has completed
}

// enqueue reserves the next place in the rank's order of collectives: it
// returns a channel to wait on before communicating and a channel to close
// afterwards.
func (c *Comm[F]) enqueue() (prev <-chan struct{}, done chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	prev, done = c.last, make(chan struct{})
	c.last = done
	return prev, done
}

func (c *Comm[F]) ordered(buf []float64, round32 bool) error {
	prev, done := c.enqueue()
	if prev != nil {
		<-prev
	}
	defer close(done)
	return c.w.allreduce(c.rank, buf, round32)
}

var (
	_ optimizer.Communicator[float64] = (*Comm[float64])(nil)
	_ optimizer.Communicator[float32] = (*Comm[float32])(nil)
)

// Rank returns the rank.
func (c *Comm[F]) Rank() int { return c.rank }

// Size returns the world size.
func (c *Comm[F]) Size() int { return c.w.size }

// AllreduceSum sums buf over the ranks; it blocks until every rank has
// called it. It returns an error if the ranks' lengths differ.
func (c *Comm[F]) AllreduceSum(buf []F) error {
	if !prec.Is32[F]() {
		return c.ordered(prec.As64(buf), false)
	}
	w := widen(buf)
	err := c.ordered(w, true)
	narrow(buf, w)
	return err
}

// AllreduceSumFloat64 sums a float64 buffer over the ranks, in float64.
func (c *Comm[F]) AllreduceSumFloat64(buf []float64) error { return c.ordered(buf, false) }

// widen returns a float64 copy of buf.
func widen[F optimizer.Float](buf []F) []float64 {
	w := make([]float64, len(buf))
	for i, v := range buf {
		w[i] = float64(v)
	}
	return w
}

// narrow stores w, whose values are representable in F, into buf.
func narrow[F optimizer.Float](buf []F, w []float64) {
	for i, v := range w {
		buf[i] = F(v)
	}
}

// IallreduceSum starts AllreduceSum in a goroutine, in its place in the
// rank's order of collectives; wait returns its error.
func (c *Comm[F]) IallreduceSum(buf []F) (func() error, error) {
	prev, done := c.enqueue()
	res := make(chan error, 1)
	go func() {
		if prev != nil {
			<-prev
		}
		var err error
		if prec.Is32[F]() {
			w := widen(buf)
			err = c.w.allreduce(c.rank, w, true)
			narrow(buf, w)
		} else {
			err = c.w.allreduce(c.rank, prec.As64(buf), false)
		}
		close(done)
		res <- err
	}()
	return func() error { return <-res }, nil
}

// ErrInjected is the error a Faulty communicator returns.
var ErrInjected = errors.New("optimizertest: injected communication fault")

// Faulty wraps a Communicator and makes chosen calls fail with
// ErrInjected without communicating.
type Faulty[F optimizer.Float] struct {
	optimizer.Communicator[F]
	// FailCall is the 1-based index of the AllreduceSum,
	// AllreduceSumFloat64 or IallreduceSum call that fails; 0 never fails.
	FailCall int
	calls    int
}

// AllreduceSum fails on call FailCall and forwards the others.
func (f *Faulty[F]) AllreduceSum(buf []F) error {
	f.calls++
	if f.calls == f.FailCall {
		return ErrInjected
	}
	return f.Communicator.AllreduceSum(buf)
}

// AllreduceSumFloat64 fails on call FailCall and forwards the others.
func (f *Faulty[F]) AllreduceSumFloat64(buf []float64) error {
	f.calls++
	if f.calls == f.FailCall {
		return ErrInjected
	}
	return f.Communicator.AllreduceSumFloat64(buf)
}

// IallreduceSum fails on call FailCall and forwards the others.
func (f *Faulty[F]) IallreduceSum(buf []F) (func() error, error) {
	f.calls++
	if f.calls == f.FailCall {
		return nil, ErrInjected
	}
	return f.Communicator.IallreduceSum(buf)
}

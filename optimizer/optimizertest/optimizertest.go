// Package optimizertest provides in-memory communicators for testing
// distributed optimizers in one process: a world of W ranks run as
// goroutines, and a wrapper that injects communication faults.
package optimizertest

import (
	"errors"
	"fmt"
	"sync"

	"github.com/dpmpi/dpmpi/optimizer"
)

// World is a set of in-memory communicators, one per rank, that reduce
// through shared memory. Each rank must be driven by its own goroutine. The
// sum is taken in rank order, so results are deterministic.
type World struct {
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
	comms   []*Comm
}

// NewWorld returns a world of size ranks. It panics if size < 1.
func NewWorld(size int) *World {
	if size < 1 {
		panic("optimizertest: NewWorld: size must be ≥ 1")
	}
	w := &World{size: size, bufs: make([][]float64, size), calls: make([]int, size), comms: make([]*Comm, size)}
	w.cond = sync.NewCond(&w.mu)
	for r := range w.comms {
		w.comms[r] = &Comm{w: w, rank: r}
	}
	return w
}

// Comm returns rank r's communicator.
func (w *World) Comm(r int) *Comm { return w.comms[r] }

// Run calls f once per rank, each in its own goroutine, and returns the
// errors by rank.
func (w *World) Run(f func(rank int, comm *Comm) error) []error {
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
func (w *World) Calls(r int) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.calls[r]
}

func (w *World) allreduce(rank int, buf []float64) error {
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
// optimizer.Communicator. A rank's collectives enter the world in the order
// they were called, also when non-blocking ones are still outstanding, as
// MPI requires.
type Comm struct {
	w    *World
	rank int
	mu   sync.Mutex
	last chan struct{} // closed when the rank's latest collective has completed
}

// enqueue reserves the next place in the rank's order of collectives: it
// returns a channel to wait on before communicating and a channel to close
// afterwards.
func (c *Comm) enqueue() (prev <-chan struct{}, done chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	prev, done = c.last, make(chan struct{})
	c.last = done
	return prev, done
}

func (c *Comm) ordered(buf []float64) error {
	prev, done := c.enqueue()
	if prev != nil {
		<-prev
	}
	defer close(done)
	return c.w.allreduce(c.rank, buf)
}

var _ optimizer.Communicator = (*Comm)(nil)

// Rank returns the rank.
func (c *Comm) Rank() int { return c.rank }

// Size returns the world size.
func (c *Comm) Size() int { return c.w.size }

// AllreduceSum sums buf over the ranks; it blocks until every rank has
// called it. It returns an error if the ranks' lengths differ.
func (c *Comm) AllreduceSum(buf []float64) error { return c.ordered(buf) }

// IallreduceSum starts AllreduceSum in a goroutine, in its place in the
// rank's order of collectives; wait returns its error.
func (c *Comm) IallreduceSum(buf []float64) (func() error, error) {
	prev, done := c.enqueue()
	res := make(chan error, 1)
	go func() {
		if prev != nil {
			<-prev
		}
		err := c.w.allreduce(c.rank, buf)
		close(done)
		res <- err
	}()
	return func() error { return <-res }, nil
}

// ErrInjected is the error a Faulty communicator returns.
var ErrInjected = errors.New("optimizertest: injected communication fault")

// Faulty wraps a Communicator and makes chosen calls fail with
// ErrInjected without communicating.
type Faulty struct {
	optimizer.Communicator
	// FailCall is the 1-based index of the AllreduceSum or IallreduceSum
	// call that fails; 0 never fails.
	FailCall int
	calls    int
}

// AllreduceSum fails on call FailCall and forwards the others.
func (f *Faulty) AllreduceSum(buf []float64) error {
	f.calls++
	if f.calls == f.FailCall {
		return ErrInjected
	}
	return f.Communicator.AllreduceSum(buf)
}

// IallreduceSum fails on call FailCall and forwards the others.
func (f *Faulty) IallreduceSum(buf []float64) (func() error, error) {
	f.calls++
	if f.calls == f.FailCall {
		return nil, ErrInjected
	}
	return f.Communicator.IallreduceSum(buf)
}

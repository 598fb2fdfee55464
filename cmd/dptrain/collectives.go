package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"reflect"
	"strings"

	"github.com/dpmpi/dpmpi/internal/fingerprint"
	"github.com/dpmpi/dpmpi/optimizer"
)

// This file holds what the ranks agree on and exchange outside the DP
// optimizer's own reductions. Every function here is collective: all ranks
// call it in the same order.

// comm is what the program needs from MPI; *mpi.Comm satisfies it.
type comm interface {
	optimizer.Communicator[float64]
	Bcast(buf []float64, root int) error
	BcastBytes(buf []byte, root int) error
}

// errOther is returned on ranks that are healthy when another rank failed in
// a phase where all ranks learn about failures (setup, resume).
var errOther = errors.New("another rank failed (see its message)")

// agree makes every rank learn whether any rank failed: it returns err on the
// failing ranks and errOther on the others. rank0Failed tells whether rank 0
// failed (rank 0 then speaks for everybody).
func agree(c comm, err error) (out error, rank0Failed bool, cerr error) {
	buf := []float64{0, 0}
	if err != nil {
		buf[1] = 1
		if c.Rank() == 0 {
			buf[0] = 1
		}
	}
	if cerr := c.AllreduceSum(buf); cerr != nil {
		return err, false, cerr
	}
	if buf[1] == 0 {
		return nil, false, nil
	}
	if err == nil {
		err = errOther
	}
	return err, buf[0] > 0, nil
}

// agreeIdentity checks that every rank has the same run identity: ranks
// started with different flags, or reading different copies of the data,
// would otherwise train together on settings some of them do not share.
// Every rank returns the same error.
func agreeIdentity(c comm, id runIdentity) error {
	v := reflect.ValueOf(id)
	fps := make([]uint64, v.NumField())
	for i := range fps {
		b, err := json.Marshal(v.Field(i).Interface())
		if err != nil {
			return fmt.Errorf("fingerprinting the run's %s: %w", v.Type().Field(i).Name, err)
		}
		f := fnv.New64a()
		f.Write(b)
		fps[i] = f.Sum64()
	}
	buf := make([]float64, fingerprint.Slots*len(fps))
	fingerprint.Put(buf, fps)
	if err := c.AllreduceSum(buf); err != nil {
		return fmt.Errorf("comparing the ranks' settings: %w", err)
	}
	var differ []string
	for _, i := range fingerprint.Differ(buf, fps, c.Size()) {
		differ = append(differ, fmt.Sprintf("%s (rank %d: %v)", v.Type().Field(i).Name, c.Rank(), v.Field(i).Interface()))
	}
	if len(differ) > 0 {
		return fmt.Errorf("the ranks disagree on %s; start every rank with the same flags and the same data set", strings.Join(differ, ", "))
	}
	return nil
}

// bcastBlob sends b from root to every rank and returns it everywhere.
func bcastBlob(c comm, b []byte, root int) ([]byte, error) {
	n := []float64{float64(len(b))}
	if err := c.Bcast(n, root); err != nil {
		return nil, err
	}
	if c.Rank() != root {
		b = make([]byte, int(n[0]))
	}
	if len(b) == 0 {
		return b, nil
	}
	if err := c.BcastBytes(b, root); err != nil {
		return nil, err
	}
	return b, nil
}

// gatherBlobs collects every rank's b on rank 0, in rank order; the other
// ranks get nil. (One broadcast per rank: the states are small and this
// happens at checkpoints only.)
func gatherBlobs(c comm, b []byte) ([][]byte, error) {
	var all [][]byte
	if c.Rank() == 0 {
		all = make([][]byte, c.Size())
	}
	for r := range c.Size() {
		var mine []byte
		if r == c.Rank() {
			mine = b
		}
		got, err := bcastBlob(c, mine, r)
		if err != nil {
			return nil, err
		}
		if all != nil {
			all[r] = got
		}
	}
	return all, nil
}

// stepFlags is what the ranks agree on before every logical step, in one
// sum-allreduce, so that all of them stop at the same step and report the
// same loss.
type stepFlags struct {
	stop   bool // some rank was asked to stop (SIGTERM/SIGUSR1)
	budget bool // rank 0: one more step would exceed the privacy budget
	replay bool // rank 0: the step re-executes a release the ledger holds
	// lossSum and lossN are the summed training loss and sample count since
	// the last metrics record: this rank's before agreeRound, all ranks'
	// after.
	lossSum, lossN float64
}

// stepFlagSlots is the length of the buffer stepFlags are reduced in.
const stepFlagSlots = 5

// agreeRound sums the flags over the ranks; buf (stepFlagSlots values) is
// the reduction buffer, kept by the caller so that the loop allocates
// nothing. A flag is set afterwards if any rank set it.
func (f *stepFlags) agreeRound(c comm, buf []float64) error {
	b2f := func(b bool) float64 {
		if b {
			return 1
		}
		return 0
	}
	buf = buf[:stepFlagSlots]
	buf[0], buf[1], buf[2], buf[3], buf[4] = b2f(f.stop), b2f(f.budget), b2f(f.replay), f.lossSum, f.lossN
	if err := c.AllreduceSum(buf); err != nil {
		return err
	}
	f.stop, f.budget, f.replay, f.lossSum, f.lossN = buf[0] > 0, buf[1] > 0, buf[2] > 0, buf[3], buf[4]
	return nil
}

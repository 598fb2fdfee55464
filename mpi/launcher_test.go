package mpi

import (
	"math"
	"strings"
	"testing"
)

func TestCheckLauncher(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		size    int
		impl    string
		wantErr string // substring; empty for no error
	}{
		{"singleton", nil, 1, "Open MPI", ""},
		{"real job", map[string]string{"OMPI_COMM_WORLD_SIZE": "4"}, 4, "Open MPI", ""},
		{"np 1 job", map[string]string{"OMPI_COMM_WORLD_SIZE": "1"}, 1, "Open MPI", ""},
		{"ompi env, world 1", map[string]string{"OMPI_COMM_WORLD_SIZE": "2"}, 1, "MPICH", "mpirun.mpich"},
		{"hydra env, ompi binary", map[string]string{"PMI_SIZE": "4"}, 1, "Open MPI", "srun --mpi=pmix"},
		{"srun step", map[string]string{"SLURM_STEP_NUM_TASKS": "2"}, 1, "MPICH", "srun --mpi=pmi2"},
		{"sbatch batch step", map[string]string{"SLURM_NTASKS": "8"}, 1, "Open MPI", ""},
		{"garbage", map[string]string{"PMI_SIZE": "x"}, 1, "Open MPI", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := checkLauncher(func(k string) string { return tc.env[k] }, tc.size, tc.impl)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("err = %v, want one mentioning %q", err, tc.wantErr)
			}
		})
	}
}

func TestChunkElemsNeverOverflowsCount(t *testing.T) {
	for _, tc := range []struct {
		bytes, elem, want int
	}{
		{1 << 20, 8, 1 << 17},
		{4, 8, 1},
		{1 << 40, 8, math.MaxInt32},
		{1 << 40, 1, math.MaxInt32},
	} {
		c := Comm{ChunkBytes: tc.bytes}
		if got := c.chunkElems(tc.elem); got != tc.want {
			t.Errorf("chunkElems(%d) with ChunkBytes %d = %d, want %d", tc.elem, tc.bytes, got, tc.want)
		}
	}
}

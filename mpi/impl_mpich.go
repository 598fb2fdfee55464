//go:build mpich

package mpi

// #cgo pkg-config: mpich
import "C"

// Implementation names the MPI library this binary is linked against. Build
// without -tags mpich to link Open MPI instead of MPICH.
const Implementation = "MPICH"

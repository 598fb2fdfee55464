//go:build !mpich

package mpi

// #cgo pkg-config: ompi
import "C"

// Implementation names the MPI library this binary is linked against. Build
// with -tags mpich to link MPICH instead of Open MPI.
const Implementation = "Open MPI"

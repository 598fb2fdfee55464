// Package multihost holds dpmpi's multi-host tests and the small API they
// share: ranks placed on several hosts, over TCP only, with the hosts made
// by scripts/netns-up.sh (network namespaces with their own addresses and,
// optionally, a rate-limited link; see docs/multinode.md).
//
// A hostfile names the hosts, one line per host in Open MPI's format
// ("dpmpi-h1 slots=2"). ReadHostfile parses it, and Available tells
// whether the hosts are up: the tests find the hostfile in
// DPMPI_NETNS_HOSTFILE and skip, saying why, when it is not set;
// DPMPI_REQUIRE_NETNS=1 turns that skip into a failure. scripts/multihost-test.sh
// brings the hosts up, runs the tests with both variables set, and brings
// the hosts down:
//
//	scripts/multihost-test.sh                    # 2 hosts × 2 ranks, link shaped to 10 Gb/s
//	DPMPI_NETNS_HOSTFILE=out/netns/hostfile go test -count=1 -v ./internal/multihost
//
// The tests launch their ranks with scripts/netns-mpirun.sh (mpirun inside
// the first host's namespace, the other hosts' daemons started through the
// rsh agent scripts/netns-rsh.sh), through mpi/mpitest's DPMPI_MPIRUN for
// the in-process tests and directly for dptrain.
//
// The tests: the mpi collectives at 2 hosts × 2 ranks, with a check that
// the ranks really sit on the hosts the hostfile names; σ = 0 equivalence of
// the three distributed optimizers (simple, perlayer's hook-based one in
// both progress modes, optimizer.DistributedDPOptimizer) with the
// single-process optimizers; a dptrain run across the hosts that matches
// the same run on one host's shared memory; and the loss of a whole host
// (every process in its namespace killed), after which the job must end
// within 30 s with a message naming the host, and dptrain --resume must
// finish with the weights and the ledger of the uninterrupted run.
package multihost

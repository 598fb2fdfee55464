// Package seed is the one home of dpmpi's seed derivation: the few
// building blocks with which the packages turn a user's seed into the keys
// and words of their random streams. Every derived stream of the module is
// built from these, so that two streams meant to differ do, and a stream
// keeps its bits when the code around it moves.
//
// The users, and what each derives:
//
//   - optimizer: NewSeededGenerator and BlockGenerator's sequential stream
//     are PCG(seed, Label("dpmpi-no")); a BlockGenerator call's key is
//     Mix(seed ^ Mix(calls)), block b's stream word Mix(b ^
//     Label("dpmpi-no")).
//   - data: a Sampler's ChaCha8 keys are Key("dpmpi/data.Sampler stream",
//     seed, rank) and Key("dpmpi/data.Sampler shuffle", shuffleSeed,
//     epoch).
//   - cmd/dptrain: rank r's noise seed is ForRank(seed, "noise", r).
//   - audit: run and rank seeds are Combine(seed, run) and Combine(runSeed,
//     rank+1).
//   - nn: Sequential.Init's ChaCha8 key is ChaCha8Key(seed); a Dropout
//     mask value is the top 53 bits of Finalise(base + (j+1)·golden), with
//     base the Finalise chain over (seed, step, sample key, layer salt).
//
// The functions are pure and allocation-free except Key, which hashes.
// None is a cryptographic key derivation in the sense of secret keys:
// secure mode draws its noise from crypto/rand, not from a seed.
package seed

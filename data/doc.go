// Package data reads datasets and draws the batches of differentially
// private training: Poisson-sampled batches of dataset indices, one per
// step, each rank of a distributed run drawing from its own shard, and their
// split into physical batches. Load a dataset (LoadFashionMNIST, or ReadIDX
// for any IDX file), build a Sampler with the sampling rate q, and per step
// draw a batch with Next and copy its images with Images.Batch; Split cuts a
// batch larger than memory allows into physical batches with the skip
// signals of virtual steps:
//
//	train, err := data.LoadFashionMNIST("", true) // Debian's dataset-fashion-mnist
//	s, err := data.NewSampler(data.SamplerConfig{N: train.N, Rate: q, Rank: rank, World: w, Seed: seed})
//	var batch []int
//	for step := 0; step < steps; step++ {
//		batch = s.Next(batch) // sorted indices; may be empty
//		for phys, skip := range data.Split(batch, 512) {
//			train.Batch(phys, x[:len(phys)*train.Dim()], y[:len(phys)])
//			// forward, backward, opt.SignalSkip(skip), opt.Step(), opt.ZeroGrad()
//		}
//	}
//
// # Sampling
//
// At every step each sample of the rank's shard is included independently
// with probability q, the indices come out sorted, and empty batches are
// yielded, never skipped, so every rank runs the same number of steps. The
// shard of rank r is the strided slice perm[r::W] of a per-epoch
// permutation shared by every rank (the identity without Shuffle), so every
// sample is in exactly one shard and the global batch is a Poisson sample at
// rate q. An epoch is StepsPerEpoch(q) = round(1/q) steps (Opacus's int(1/q)
// is one short for many q = 1/m). Each rank draws from its own ChaCha8
// stream derived from (Seed, Rank), or keyed from crypto/rand with Secure.
// The sampler's state (epoch, step, generator) can be saved with
// MarshalBinary and restored with UnmarshalBinary to resume a run exactly.
//
// # Datasets
//
// ReadIDX reads the IDX format of MNIST and Fashion-MNIST, gzip-compressed
// or raw, validating magic, dimensions and size. LoadFashionMNIST loads the
// Debian dataset-fashion-mnist files from FashionMNISTDir, $DPMPI_FASHION_MNIST
// or another directory, and LoadIDXSplit any 28×28, 10-class data set in the
// same file layout. Images holds the pixels as bytes, one per pixel, and
// normalises them with its Mean and Std (the Fashion-MNIST constants, for
// the loaders) when Batch copies a batch out as float64. ReadCSV and
// ReadNPYFiles read any labelled data set into a Table of float64 features,
// normalised with constants the caller gives (Normalization), never with
// statistics of the private training data.
package data

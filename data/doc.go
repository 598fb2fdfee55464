// Package data reads datasets and draws the batches of differentially
// private training.
//
// ReadIDX reads the IDX format of MNIST and Fashion-MNIST, gzip-compressed
// or raw, validating magic, dimensions and size, and LoadFashionMNIST loads
// the Debian dataset-fashion-mnist files from /usr/share/datasets or another
// directory.
//
// Sampler draws Poisson batches: at every step each sample (of the rank's
// shard, in the distributed case) is included independently with
// probability q, the indices come out sorted, and empty batches are yielded,
// never skipped, so every rank runs the same number of steps. Its state
// (epoch, step, generator) can be saved with MarshalBinary and restored to
// resume a run exactly.
//
// Split cuts a logical batch into physical batches of at most M samples,
// each with the skip signal of virtual steps.
package data

// Command dpdata converts Fashion-MNIST (or any data set in its IDX layout)
// to the other formats dptrain reads, for trying those readers on real data:
//
//	dpdata csv [--dir DIR] [--out OUT] [--limit N]   OUT/fashion-{train,test}.csv
//	dpdata npy [--dir DIR] [--out OUT] [--limit N]   OUT/fashion-{train,test}-{x,y}.npy
//
// The CSV files have a header (label, p0, …, p783) and one image a row, its
// label first and its pixels as integers 0..255. The NumPy files hold the
// pixels as uint8 of shape [N, 1, 28, 28] and the labels as int64 of shape
// [N]. Neither is normalised: normalise when reading, with public constants
// (Fashion-MNIST's are data.FashionMNISTMean and FashionMNISTStd, for pixels
// scaled to [0, 1]; multiply both by 255 for these raw pixels).
//
// DIR defaults to $DPMPI_FASHION_MNIST or /usr/share/datasets/fashion-mnist
// (Debian's dataset-fashion-mnist); OUT to the current directory; --limit
// keeps the first N images of each split (0: all).
package main

// Command dpfeatures computes ScatterNet features of Fashion-MNIST once, for
// training on them with dptrain or any NumPy-reading tool: the 2-D
// scattering transform of package features/scatter (Kymatio's
// Scattering2D(J=2, L=8, max_order=2), as in Tramèr & Boneh 2021) of every
// training and test image, written as NumPy .npy pairs:
//
//	dpfeatures --out DIR [--data DIR] [--dtype float32|float64] [--j 2] [--l 8] [--order 2] [--power P] [--flip] [--limit N]
//
// writes DIR/train_features.npy ([60000, 81, 7, 7]), DIR/train_labels.npy
// (int64 [60000]), DIR/test_features.npy and DIR/test_labels.npy, which
// data.ReadNPYFiles reads back. Pixels enter the transform scaled to [0, 1]
// (p/255, torchvision's ToTensor, what Tramèr & Boneh feed Kymatio), with no
// mean or standard deviation applied. The features are not normalised
// either: standardise them with public constants or a differentially
// private estimate (data.Normalization, scatter.ChannelNorm), or normalise
// per sample in the model (GroupNorm); never with statistics of the
// training set itself.
//
// --power P (default 1, the coefficients unchanged) compresses every
// coefficient v to max(v, 0)^P (scatter.Compress), which evens out the
// heavy tails and the tenfold steps between the scattering orders; with
// --power 0.5 the linear model of scripts/accuracy.sh is more accurate at
// the same ε (docs/dptrain.md). Like the transform it is fixed and costs no
// privacy. --flip also writes train_features_flip.npy, the features of the
// mirrored training images, for dptrain --augment-views.
//
// --data defaults to $DPMPI_FASHION_MNIST, else
// /usr/share/datasets/fashion-mnist; any directory of 28×28 IDX files in
// Fashion-MNIST's layout works (MNIST too), read with data.LoadIDXSplit. --limit N transforms only the first N
// images of each split (for quick checks). The images are transformed on
// GOMAXPROCS goroutines, in chunks that are written as they finish, so
// memory stays small; the command prints each split's size and wall time.
//
// Errors go to standard error with exit status 2 for bad arguments and 1
// for failures.
package main

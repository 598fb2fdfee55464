package data

import (
	"fmt"
	"math"
)

// Table is a labelled data set held as float64 features: N samples of Dim
// values each (Shape gives a sample's shape, for example [Dim] for CSV rows
// or [C, H, W] for images read from NPY), with labels in [0, Classes). It is
// what ReadCSV and ReadNPY return.
//
// Table's features are normalised when they are read, with constants the
// caller gives (see Normalization), never with statistics of the data.
type Table struct {
	// N is the number of samples and Classes the number of label values.
	N, Classes int
	// Shape is the shape of one sample; Dim() is the product of its sizes.
	Shape []int
	// Features holds N·Dim() values, sample-major.
	Features []float64
	// Labels holds N labels in [0, Classes).
	Labels []int32
}

// Dim returns the number of values of one sample, the product of Shape.
func (t *Table) Dim() int { return product(t.Shape) }

// Len returns the number of samples, N.
func (t *Table) Len() int { return t.N }

// Head returns a view of the first n samples (all of them if n is 0 or at
// least N), sharing t's storage.
func (t *Table) Head(n int) *Table {
	if n <= 0 || n >= t.N {
		return t
	}
	c := *t
	c.N = n
	c.Features = t.Features[:n*t.Dim()]
	c.Labels = t.Labels[:n]
	return &c
}

// Batch writes the samples with the given indices into x (len(idx)·Dim
// values) and their labels into y (len(idx) values). It panics if the
// lengths do not match or an index is out of range.
func (t *Table) Batch(idx []int, x []float64, y []int) {
	dim := t.Dim()
	if len(x) != len(idx)*dim || len(y) != len(idx) {
		panic("data: Batch: len(x) != len(idx)·Dim() or len(y) != len(idx)")
	}
	for k, i := range idx {
		copy(x[k*dim:(k+1)*dim], t.Features[i*dim:(i+1)*dim])
		y[k] = int(t.Labels[i])
	}
}

// Normalization maps a feature value v of column j to (v − Mean[j])/Std[j].
//
// The constants must come from outside the private training data: public
// knowledge of the domain (the usual constants of a public data set, a
// sensor's physical range) or a differentially private estimate whose cost
// is accounted for. Statistics computed on the training set itself depend
// on every sample, including the ones DP-SGD is meant to protect, and no
// accountant would count them: dpmpi never computes them for you.
//
// Mean and Std each hold either one value, applied to every feature, or one
// value per feature. Empty slices mean no shift (Mean) or no scaling (Std).
type Normalization struct {
	Mean, Std []float64
}

// check reports whether n fits features of dimension dim.
func (n Normalization) check(dim int) error {
	for _, c := range []struct {
		name string
		v    []float64
	}{{"mean", n.Mean}, {"std", n.Std}} {
		if len(c.v) > 1 && len(c.v) != dim {
			return fmt.Errorf("normalization: %d %s values for %d features; give one value for all features or one per feature", len(c.v), c.name, dim)
		}
		for j, v := range c.v {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("normalization: %s value %d is %v; give finite constants", c.name, j, v)
			}
			if c.name == "std" && v <= 0 {
				return fmt.Errorf("normalization: std value %d is %v; a standard deviation must be positive", j, v)
			}
		}
	}
	return nil
}

// apply normalises one sample's features in place.
func (n Normalization) apply(x []float64) {
	if len(n.Mean) == 0 && len(n.Std) == 0 {
		return
	}
	for j := range x {
		if len(n.Mean) > 0 {
			x[j] -= n.Mean[min(j, len(n.Mean)-1)]
		}
		if len(n.Std) > 0 {
			x[j] /= n.Std[min(j, len(n.Std)-1)]
		}
	}
}

// setClasses sets t.Classes from classes, or from the largest label when
// classes is 0, and checks every label against it. where(i) names sample i
// in an error.
func (t *Table) setClasses(classes int, where func(i int) string) error {
	if classes < 0 {
		return fmt.Errorf("%d classes; give a positive number, or 0 to take it from the labels", classes)
	}
	if classes == 0 {
		for _, l := range t.Labels {
			classes = max(classes, int(l)+1)
		}
		if classes < 2 {
			return fmt.Errorf("every label is %d: a classifier needs at least 2 classes", classes-1)
		}
	}
	for i, l := range t.Labels {
		if int(l) >= classes {
			return fmt.Errorf("%s: label %d is outside [0, %d); set the number of classes to cover it", where(i), l, classes)
		}
	}
	t.Classes = classes
	return nil
}

// checkLabel converts a label value to int32, refusing values that are not
// non-negative integers.
func checkLabel(v float64) (int32, error) {
	if v != math.Trunc(v) || v < 0 || v > math.MaxInt32 {
		return 0, fmt.Errorf("label %v is not a non-negative integer; labels must be class indices 0, 1, 2, …", v)
	}
	return int32(v), nil
}

// checkFeature refuses NaN and infinite feature values.
func checkFeature(v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Errorf("feature value is %v; DP training needs finite features (impute or drop the sample first)", v)
	}
	return nil
}

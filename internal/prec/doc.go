// Package prec holds the few helpers that precision-generic code needs to
// dispatch once per call on its element type, float32 or float64, instead
// of once per element: a test of the type and zero-copy views of a []F as
// the concrete slice type.
package prec

package optimizer

import (
	"fmt"
)

// LayerSpec describes one layer to be placed in an Arena: a named group of
// parameters that is clipped as a unit by per-layer clipping. A Linear layer
// with a bias is one layer holding its weight followed by its bias.
type LayerSpec struct {
	// Name identifies the layer in error messages, for example "fc1".
	Name string
	// Shape is the layer's parameter shape as the model sees it. Its product
	// must equal Len.
	Shape []int
	// Len is the number of parameters the layer holds.
	Len int
}

// Layer is one entry of an Arena's layer table: the layer's parameters are
// Params[Offset:Offset+Len] and its gradient is Grads[Offset:Offset+Len].
type Layer struct {
	Name   string
	Shape  []int
	Offset int
	Len    int
}

// Float is the element type of a model's parameters and gradients: float32
// or float64. The optimizers, sources and updaters of this package are
// generic in it; clip factors, noise standard deviations, scale factors and
// accounting stay float64 whatever F is.
type Float interface{ float32 | float64 }

// Arena holds all parameters of a model in one contiguous buffer and all
// gradients in another, with a table of layers. A layer's parameters and
// gradient are sub-slices of the two buffers, so flattening the model costs
// nothing and one reduction of Grads covers every layer.
//
// The zero value is an empty arena; use NewArena to build one.
type Arena[F Float] struct {
	// Params holds every layer's parameters, in layer order.
	Params []F
	// Grads holds every layer's gradient, laid out like Params.
	Grads []F
	// Layers is the layer table, in the order the layers were given.
	Layers []Layer
}

// NewArena allocates an arena for the given layers, in order. Parameters and
// gradients start at zero. It returns an error if a layer has a non-positive
// length, a shape whose product differs from its length, or a duplicate name.
func NewArena[F Float](specs ...LayerSpec) (*Arena[F], error) {
	a := &Arena[F]{Layers: make([]Layer, len(specs))}
	seen := make(map[string]int, len(specs))
	total := 0
	for i, s := range specs {
		if s.Len <= 0 {
			return nil, fmt.Errorf("optimizer: layer %d (%q) has length %d; every layer needs at least one parameter", i, s.Name, s.Len)
		}
		if len(s.Shape) > 0 {
			prod := 1
			for _, d := range s.Shape {
				prod *= d
			}
			if prod != s.Len {
				return nil, fmt.Errorf("optimizer: layer %d (%q) has shape %v (%d elements) but length %d", i, s.Name, s.Shape, prod, s.Len)
			}
		}
		if j, dup := seen[s.Name]; dup {
			return nil, fmt.Errorf("optimizer: layers %d and %d are both named %q; layer names must be unique", j, i, s.Name)
		}
		seen[s.Name] = i
		a.Layers[i] = Layer{Name: s.Name, Shape: append([]int(nil), s.Shape...), Offset: total, Len: s.Len}
		total += s.Len
	}
	a.Params = make([]F, total)
	a.Grads = make([]F, total)
	return a, nil
}

// Len returns the total number of parameters in the arena.
func (a *Arena[F]) Len() int { return len(a.Params) }

// Param returns layer l's parameters as a sub-slice of a.Params.
func (a *Arena[F]) Param(l int) []F {
	ly := a.Layers[l]
	return a.Params[ly.Offset : ly.Offset+ly.Len : ly.Offset+ly.Len]
}

// Grad returns layer l's gradient as a sub-slice of a.Grads.
func (a *Arena[F]) Grad(l int) []F {
	ly := a.Layers[l]
	return a.Grads[ly.Offset : ly.Offset+ly.Len : ly.Offset+ly.Len]
}

package nn

import (
	"fmt"
	"maps"
	"slices"
)

// Tensor is one named parameter tensor of a model, as PyTorch's state_dict
// holds it: Name is the key (for example "0.weight"), Shape the sizes
// outermost first and Data the values in row-major order.
type Tensor struct {
	Name  string
	Shape []int
	Data  []float64
}

// stateLayer is a parameter layer that can describe its parameters as
// PyTorch names and lays them out.
type stateLayer interface {
	// state returns the layer's tensors, named without the module prefix
	// ("weight", "bias"), as views of the bound parameters.
	state() []Tensor
}

// state returns the weight [Out, In] and the bias [Out], the layout of
// torch.nn.Linear.
func (l *Linear) state() []Tensor {
	return []Tensor{{"weight", []int{l.Out, l.In}, l.w}, {"bias", []int{l.Out}, l.b}}
}

// state returns the weight [Out, In, K, K] and the bias [Out], the layout of
// torch.nn.Conv2d.
func (c *Conv2d) state() []Tensor {
	return []Tensor{{"weight", []int{c.Out, c.In, c.K, c.K}, c.wt}, {"bias", []int{c.Out}, c.b}}
}

// StateDict returns the model's parameters under the names and in the
// layouts of PyTorch's state_dict for the torch.nn.Sequential with the same
// layers in the same order: "<position>.weight" and "<position>.bias", the
// position counting every layer, parameter-free ones included (so the
// Flatten and activation layers must appear in the PyTorch model too). The
// tensors' Data are views of the bound arena, valid until it changes; the
// model must be bound.
func (s *Sequential) StateDict() ([]Tensor, error) {
	if s.bound == nil {
		return nil, fmt.Errorf("nn: StateDict: the model is not bound to an arena; call NewArena or Bind first")
	}
	var out []Tensor
	for k, l := range s.layers {
		if nl, ok := l.(interface{ nestedState() ([]Tensor, error) }); ok {
			ts, err := nl.nestedState()
			if err != nil {
				return nil, fmt.Errorf("nn: StateDict: layer %d (%s): %w", k, l.Kind(), err)
			}
			for _, t := range ts {
				t.Name = fmt.Sprintf("%d.%s", k, t.Name)
				out = append(out, t)
			}
			continue
		}
		p, ok := l.(paramLayer)
		if !ok {
			continue
		}
		sl, ok := p.(stateLayer)
		if !ok {
			return nil, fmt.Errorf("nn: StateDict: layer %d (%s) has no PyTorch layout", k, l.Kind())
		}
		for _, t := range sl.state() {
			t.Name = fmt.Sprintf("%d.%s", k, t.Name)
			out = append(out, t)
		}
	}
	return out, nil
}

// LoadStateDict copies tensors, named and laid out as StateDict returns
// them, into the model's bound parameters. Every parameter tensor of the
// model must be given once with its shape; a missing, misshapen or unknown
// tensor is an error naming it, and nothing is copied unless all of them fit.
func (s *Sequential) LoadStateDict(tensors []Tensor) error {
	want, err := s.StateDict()
	if err != nil {
		return fmt.Errorf("nn: LoadStateDict: the model is not bound to an arena; call NewArena or Bind first")
	}
	given := make(map[string]Tensor, len(tensors))
	for _, t := range tensors {
		if _, dup := given[t.Name]; dup {
			return fmt.Errorf("nn: LoadStateDict: tensor %q is given twice", t.Name)
		}
		given[t.Name] = t
	}
	for _, w := range want {
		g, ok := given[w.Name]
		switch {
		case !ok:
			return fmt.Errorf("nn: LoadStateDict: no tensor %q (shape %v) is given", w.Name, w.Shape)
		case !slices.Equal(g.Shape, w.Shape) || len(g.Data) != len(w.Data):
			return fmt.Errorf("nn: LoadStateDict: tensor %q has shape %v (%d values), the model's is %v", w.Name, g.Shape, len(g.Data), w.Shape)
		}
	}
	if len(given) > len(want) {
		for _, w := range want {
			delete(given, w.Name)
		}
		extra := slices.Sorted(maps.Keys(given))
		return fmt.Errorf("nn: LoadStateDict: the model has no parameters named %v; its tensors are named <position>.weight and <position>.bias", extra)
	}
	for _, w := range want {
		copy(w.Data, given[w.Name].Data)
	}
	return nil
}

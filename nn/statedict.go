package nn

import (
	"fmt"
	"maps"
	"slices"

	"github.com/dpmpi/dpmpi/internal/prec"
)

// Tensor is one named parameter tensor of a model, as PyTorch's state_dict
// holds it: Name is the key (for example "0.weight"), Shape the sizes
// outermost first and Data the values in row-major order. Data are float64
// whatever the model's element type: every float32 value is exactly a
// float64 one.
type Tensor struct {
	Name  string
	Shape []int
	Data  []float64
}

// tensor is a Tensor whose Data are a view of a model's parameters of
// type F.
type tensor[F Float] struct {
	Name  string
	Shape []int
	Data  []F
}

// stateLayer is a parameter layer that can describe its parameters as
// PyTorch names and lays them out.
type stateLayer[F Float] interface {
	// state returns the layer's tensors, named without the module prefix
	// ("weight", "bias"), as views of the bound parameters.
	state() []tensor[F]
}

// state returns the weight [Out, In] and the bias [Out], the layout of
// torch.nn.Linear.
func (l *Linear[F]) state() []tensor[F] {
	return []tensor[F]{{"weight", []int{l.Out, l.In}, l.w}, {"bias", []int{l.Out}, l.b}}
}

// state returns the weight [Out, In, K, K] and the bias [Out], the layout of
// torch.nn.Conv2d.
func (c *Conv2d[F]) state() []tensor[F] {
	return []tensor[F]{{"weight", []int{c.Out, c.In, c.K, c.K}, c.wt}, {"bias", []int{c.Out}, c.b}}
}

// StateDict returns the model's parameters under the names and in the
// layouts of PyTorch's state_dict for the torch.nn.Sequential with the same
// layers in the same order: "<position>.weight" and "<position>.bias", the
// position counting every layer, parameter-free ones included (so the
// Flatten and activation layers must appear in the PyTorch model too). For
// a float64 model the tensors' Data are views of the bound arena, valid
// until it changes; for a float32 model they are float64 copies of the
// parameters, exact. The model must be bound.
func (s *Sequential[F]) StateDict() ([]Tensor, error) {
	ts, err := s.stateDict()
	if err != nil {
		return nil, err
	}
	out := make([]Tensor, len(ts))
	for i, t := range ts {
		out[i] = Tensor{Name: t.Name, Shape: t.Shape}
		if !prec.Is32[F]() {
			out[i].Data = prec.As64(t.Data)
			continue
		}
		out[i].Data = make([]float64, len(t.Data))
		for j, v := range t.Data {
			out[i].Data[j] = float64(v)
		}
	}
	return out, nil
}

// stateDict returns StateDict's tensors as views of the parameters.
func (s *Sequential[F]) stateDict() ([]tensor[F], error) {
	if s.bound == nil {
		return nil, fmt.Errorf("nn: StateDict: the model is not bound to an arena; call NewArena or Bind first")
	}
	var out []tensor[F]
	for k, l := range s.layers {
		if nl, ok := l.(interface{ nestedState() ([]tensor[F], error) }); ok {
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
		p, ok := l.(paramLayer[F])
		if !ok {
			continue
		}
		sl, ok := p.(stateLayer[F])
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
// them, into the model's bound parameters, each value rounded to F (to the
// nearest float32 for a float32 model; exactly for a float64 one). Every
// parameter tensor of the model must be given once with its shape; a
// missing, misshapen or unknown tensor is an error naming it, and nothing
// is copied unless all of them fit.
func (s *Sequential[F]) LoadStateDict(tensors []Tensor) error {
	want, err := s.stateDict()
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
		for j, v := range given[w.Name].Data {
			w.Data[j] = F(v)
		}
	}
	return nil
}

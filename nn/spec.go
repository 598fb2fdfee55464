package nn

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"sort"
	"strings"
)

// A Spec describes a model in a small JSON file: the per-sample input shape
// and the layers in order, each an object whose "type" names the kind and
// whose other fields give its sizes. Input sizes ("in") may be left out:
// they are taken from the shape the previous layer produces.
//
//	{
//	  "input": [1, 28, 28],
//	  "layers": [
//	    {"type": "conv2d", "out": 16, "kernel": 8, "stride": 2, "padding": 3},
//	    {"type": "tanh"},
//	    {"type": "maxpool2d", "kernel": 2, "stride": 1},
//	    {"type": "flatten"},
//	    {"type": "linear", "out": 10}
//	  ]
//	}
//
// The layer types and their fields:
//
//	linear     in (optional), out
//	conv2d     in (optional), out, kernel, stride (default 1), padding (default 0),
//	           weight_standardization (optional, true or false, default false)
//	conv1d     the same fields, on inputs of shape [C, L]
//	maxpool2d  kernel, stride (default kernel)
//	avgpool2d  kernel, stride (default kernel)
//	elu        alpha (optional, a positive number, default 1)
//	dropout    p (the drop probability, a number in [0, 1))
//	groupnorm  groups, channels (optional)
//	embedding  vocab, dim (input: token indices of shape [T]; must come first)
//	residual   branch (a list of layers), projection (optional: one linear,
//	           conv2d or conv1d layer on the shortcut; without it the
//	           shortcut is the identity and the branch must keep the shape)
//	layernorm  (normalises over the whole sample)
//	relu, tanh, gelu, silu, flatten, globalavgpool
//
// Every field must be known and belong to its layer's type, and every size
// must be a positive integer (padding may be 0). BatchNorm is refused: it
// mixes the samples of a batch, so a sample's gradient depends on the
// others and per-sample clipping no longer bounds its influence.
type Spec struct {
	// Input is the shape of one sample, for example [784] or [1, 28, 28].
	Input []int `json:"input"`
	// Layers are the layers, first to last.
	Layers []LayerSpec `json:"layers"`

	name string // where the spec came from, for errors
}

// LayerSpec is one layer of a Spec. Fields a layer type does not take are
// nil.
type LayerSpec struct {
	Type    string `json:"type"`
	In      *int   `json:"in,omitempty"`
	Out     *int   `json:"out,omitempty"`
	Kernel  *int   `json:"kernel,omitempty"`
	Stride  *int   `json:"stride,omitempty"`
	Padding *int   `json:"padding,omitempty"`
	// Alpha is ELU's α, a size that is not an integer.
	Alpha *float64 `json:"alpha,omitempty"`
	// P is Dropout's drop probability.
	P *float64 `json:"p,omitempty"`
	// WeightStandardization selects a weight-standardised conv2d.
	WeightStandardization *bool `json:"weight_standardization,omitempty"`
	// Groups and Channels are GroupNorm's.
	Groups   *int `json:"groups,omitempty"`
	Channels *int `json:"channels,omitempty"`
	// Vocab and Dim are Embedding's.
	Vocab *int `json:"vocab,omitempty"`
	Dim   *int `json:"dim,omitempty"`
	// Branch and Projection are a residual block's.
	Branch     []LayerSpec `json:"branch,omitempty"`
	Projection *LayerSpec  `json:"projection,omitempty"`
}

// layerFields lists, for each layer type, its required and optional fields.
var layerFields = map[string]struct{ required, optional []string }{
	"linear":        {[]string{"out"}, []string{"in"}},
	"conv2d":        {[]string{"out", "kernel"}, []string{"in", "stride", "padding", "weight_standardization"}},
	"conv1d":        {[]string{"out", "kernel"}, []string{"in", "stride", "padding"}},
	"maxpool2d":     {[]string{"kernel"}, []string{"stride"}},
	"avgpool2d":     {[]string{"kernel"}, []string{"stride"}},
	"elu":           {nil, []string{"alpha"}},
	"dropout":       {[]string{"p"}, nil},
	"groupnorm":     {[]string{"groups"}, []string{"channels"}},
	"layernorm":     {},
	"embedding":     {[]string{"vocab", "dim"}, nil},
	"residual":      {[]string{"branch"}, []string{"projection"}},
	"relu":          {},
	"tanh":          {},
	"gelu":          {},
	"silu":          {},
	"flatten":       {},
	"globalavgpool": {},
}

// refusedLayers explains the layer types dpmpi refuses on purpose.
var refusedLayers = map[string]string{
	"batchnorm":   "BatchNorm normalises with statistics of the whole batch, so each sample's gradient depends on every other sample and per-sample clipping no longer bounds one sample's influence (Opacus refuses it too); use groupnorm (or layernorm), which normalises each sample on its own",
	"batchnorm1d": "",
	"batchnorm2d": "",
}

//go:embed specs/*.json
var builtinSpecs embed.FS

// BuiltinSpecs returns the names of the model specs shipped with dpmpi
// (for example "cnn" and "mlp"), sorted.
func BuiltinSpecs() []string {
	ents, _ := builtinSpecs.ReadDir("specs")
	var names []string
	for _, e := range ents {
		names = append(names, strings.TrimSuffix(e.Name(), ".json"))
	}
	sort.Strings(names)
	return names
}

// BuiltinSpec returns the shipped spec of the given name.
func BuiltinSpec(name string) (*Spec, error) {
	b, err := builtinSpecs.ReadFile(path.Join("specs", name+".json"))
	if err != nil {
		return nil, fmt.Errorf("nn: no built-in model %q; the built-in models are %s, or give a spec file", name, strings.Join(BuiltinSpecs(), ", "))
	}
	return ParseSpec(bytes.NewReader(b), name)
}

// LoadSpec reads a spec from a file, or returns the built-in spec when
// nameOrPath is a built-in name (see BuiltinSpecs) and no such file exists.
func LoadSpec(nameOrPath string) (*Spec, error) {
	f, err := os.Open(nameOrPath)
	if errors.Is(err, os.ErrNotExist) && slices.Contains(BuiltinSpecs(), nameOrPath) {
		return BuiltinSpec(nameOrPath)
	}
	if err != nil {
		return nil, fmt.Errorf("nn: model spec: %w (the built-in models are %s)", err, strings.Join(BuiltinSpecs(), ", "))
	}
	defer f.Close()
	return ParseSpec(f, nameOrPath)
}

// ParseSpec reads a JSON spec from r and checks its fields; name (a file
// name, say) appears in errors. It does not check that the layers fit
// together: Build does.
func ParseSpec(r io.Reader, name string) (*Spec, error) {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("nn: model spec %s: %s", name, fmt.Sprintf(format, args...))
	}
	var raw struct {
		Input  []int             `json:"input"`
		Layers []json.RawMessage `json:"layers"`
	}
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return nil, fail("%v (a spec is a JSON object with \"input\" and \"layers\"; see the nn.Spec documentation)", jsonErr(err))
	}
	if dec.More() {
		return nil, fail("text follows the spec's closing brace")
	}
	if len(raw.Input) == 0 {
		return nil, fail(`no "input" shape; give one sample's shape, for example [784] or [1, 28, 28]`)
	}
	for _, d := range raw.Input {
		if d <= 0 {
			return nil, fail("input shape %v must have positive sizes", raw.Input)
		}
	}
	if len(raw.Layers) == 0 {
		return nil, fail(`no "layers"`)
	}
	s := &Spec{Input: raw.Input, name: name}
	for k, msg := range raw.Layers {
		l, err := parseLayer(msg)
		if err != nil && l.Type != "" {
			return nil, fail("layer %d (%s): %v", k, l.Type, err)
		}
		if err != nil {
			return nil, fail("layer %d: %v", k, err)
		}
		s.Layers = append(s.Layers, l)
	}
	return s, nil
}

// parseLayer decodes and checks one layer object.
func parseLayer(msg json.RawMessage) (LayerSpec, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(msg, &fields); err != nil {
		return LayerSpec{}, fmt.Errorf("%v; a layer is an object such as {\"type\": \"linear\", \"out\": 10}", jsonErr(err))
	}
	var l LayerSpec
	if t, ok := fields["type"]; !ok || json.Unmarshal(t, &l.Type) != nil || l.Type == "" {
		return LayerSpec{}, fmt.Errorf("no \"type\" string; the types are %s", strings.Join(layerTypes(), ", "))
	}
	typ := strings.ToLower(l.Type)
	if why, refused := refusedLayers[typ]; refused {
		if why == "" {
			why = refusedLayers["batchnorm"]
		}
		return l, fmt.Errorf("refused: %s", why)
	}
	want, ok := layerFields[typ]
	if !ok {
		return LayerSpec{}, fmt.Errorf("unknown layer type %q; the types are %s", l.Type, strings.Join(layerTypes(), ", "))
	}
	l.Type = typ
	bad := LayerSpec{Type: typ}
	for f := range fields {
		if f != "type" && !slices.Contains(want.required, f) && !slices.Contains(want.optional, f) {
			return bad, fmt.Errorf("field %q does not belong to a %s layer; its fields are %s", f, typ, fieldList(want.required, want.optional))
		}
	}
	for _, f := range want.required {
		if _, ok := fields[f]; !ok {
			return bad, fmt.Errorf("no %q; a %s layer needs %s", f, typ, strings.Join(want.required, " and "))
		}
	}
	targets := map[string]**int{"in": &l.In, "out": &l.Out, "kernel": &l.Kernel, "stride": &l.Stride, "padding": &l.Padding,
		"groups": &l.Groups, "channels": &l.Channels, "vocab": &l.Vocab, "dim": &l.Dim}
	for f, v := range fields {
		if f == "type" {
			continue
		}
		if f == "branch" {
			var raws []json.RawMessage
			if err := json.Unmarshal(v, &raws); err != nil || len(raws) == 0 {
				return bad, fmt.Errorf("\"branch\" must be a non-empty list of layers")
			}
			for j, raw := range raws {
				b, err := parseLayer(raw)
				if err != nil {
					return bad, fmt.Errorf("branch layer %d%s: %v", j, typeNote(b.Type), err)
				}
				l.Branch = append(l.Branch, b)
			}
			continue
		}
		if f == "projection" {
			p, err := parseLayer(v)
			if err != nil {
				return bad, fmt.Errorf("projection%s: %v", typeNote(p.Type), err)
			}
			if p.Type != "linear" && p.Type != "conv2d" && p.Type != "conv1d" {
				return bad, fmt.Errorf("projection is a %s layer; use linear, conv2d or conv1d (for example a 1×1 conv2d)", p.Type)
			}
			l.Projection = &p
			continue
		}
		if f == "p" {
			var p float64
			if err := json.Unmarshal(v, &p); err != nil || !(p >= 0 && p < 1) {
				return bad, fmt.Errorf("\"p\" is %s, want a drop probability in [0, 1) (0 keeps every value)", v)
			}
			l.P = &p
			continue
		}
		if f == "weight_standardization" {
			var b bool
			if err := json.Unmarshal(v, &b); err != nil {
				return bad, fmt.Errorf("\"weight_standardization\" is %s, want true or false", v)
			}
			l.WeightStandardization = &b
			continue
		}
		if f == "alpha" {
			var a float64
			if err := json.Unmarshal(v, &a); err != nil || !(a > 0) {
				return bad, fmt.Errorf("%q is %s, want a positive number", f, v)
			}
			l.Alpha = &a
			continue
		}
		var n int
		if err := json.Unmarshal(v, &n); err != nil {
			return bad, fmt.Errorf("%q is %s, want an integer", f, v)
		}
		if n < 0 || (n == 0 && f != "padding") {
			return bad, fmt.Errorf("%q is %d, want a positive integer", f, n)
		}
		*targets[f] = &n
	}
	return l, nil
}

// Build returns the Sequential over elements of type F (float32 or
// float64) that the spec describes, with each layer's input size taken from
// the previous layer's output where the spec leaves it out. Errors name the
// layer (index and type), the shapes that disagree and how to fix them.
// (It is a function rather than a method of Spec because Go methods cannot
// have type parameters.)
func Build[F Float](s *Spec) (*Sequential[F], error) {
	m, err := buildSpec[F](s)
	switch {
	case err == nil:
		return m, nil
	case s.name != "":
		return nil, fmt.Errorf("nn: model spec %s: %w", s.name, err)
	}
	return nil, fmt.Errorf("nn: %w", err)
}

func buildSpec[F Float](s *Spec) (*Sequential[F], error) {
	layers, _, err := buildLayers[F](s.Layers, s.Input, "layer")
	if err != nil {
		return nil, err
	}
	m, err := NewSequential(s.Input, layers...)
	if err != nil {
		// Build adds NewSequential's "nn: " prefix again.
		return nil, errors.New(strings.TrimPrefix(err.Error(), "nn: "))
	}
	return m, nil
}

// buildLayers makes the layers of specs for an input of shape in, each
// layer's input size taken from the shape before it, and returns them with
// the output shape. what names the layers in errors ("layer", "branch
// layer").
func buildLayers[F Float](specs []LayerSpec, in []int, what string) ([]Layer[F], []int, error) {
	shape := slices.Clone(in)
	layers := make([]Layer[F], len(specs))
	for k, ls := range specs {
		l, err := specLayer[F](ls, shape)
		if err != nil {
			return nil, nil, fmt.Errorf("%s %d (%s): %w", what, k, ls.Type, err)
		}
		out, err := l.setup(shape)
		if err != nil {
			return nil, nil, fmt.Errorf("%s %d (%s): %w", what, k, l.Kind(), err)
		}
		layers[k], shape = l, out
	}
	return layers, shape, nil
}

// typeNote returns " (TYPE)" for a known layer type, or "".
func typeNote(t string) string {
	if t == "" {
		return ""
	}
	return " (" + t + ")"
}

// specLayer makes the layer ls describes for an input of the given shape.
func specLayer[F Float](ls LayerSpec, in []int) (Layer[F], error) {
	get := func(p *int, def int) int {
		if p == nil {
			return def
		}
		return *p
	}
	switch ls.Type {
	case "linear":
		if len(in) != 1 {
			return nil, fmt.Errorf("input of shape %v is not one-dimensional; put a flatten layer before it", in)
		}
		if err := checkGiven("in", ls.In, in[0], "features"); err != nil {
			return nil, err
		}
		return NewLinear[F](in[0], *ls.Out), nil
	case "conv2d":
		if len(in) != 3 {
			return nil, fmt.Errorf("input of shape %v is not [C, H, W]; a conv2d layer needs images", in)
		}
		if err := checkGiven("in", ls.In, in[0], "channels"); err != nil {
			return nil, err
		}
		c := NewConv2d[F](in[0], *ls.Out, *ls.Kernel, get(ls.Stride, 1), get(ls.Padding, 0))
		c.Standardize = ls.WeightStandardization != nil && *ls.WeightStandardization
		return c, nil
	case "conv1d":
		if len(in) != 2 {
			return nil, fmt.Errorf("input of shape %v is not [C, L]; a conv1d layer needs sequences", in)
		}
		if err := checkGiven("in", ls.In, in[0], "channels"); err != nil {
			return nil, err
		}
		return NewConv1d[F](in[0], *ls.Out, *ls.Kernel, get(ls.Stride, 1), get(ls.Padding, 0)), nil
	case "maxpool2d":
		return NewMaxPool2d[F](*ls.Kernel, get(ls.Stride, *ls.Kernel)), nil
	case "avgpool2d":
		return NewAvgPool2d[F](*ls.Kernel, get(ls.Stride, *ls.Kernel)), nil
	case "relu":
		return ReLU[F](), nil
	case "tanh":
		return Tanh[F](), nil
	case "gelu":
		return GELU[F](), nil
	case "silu":
		return SiLU[F](), nil
	case "elu":
		alpha := 1.0
		if ls.Alpha != nil {
			alpha = *ls.Alpha
		}
		return ELU[F](alpha), nil
	case "groupnorm":
		if len(in) < 1 {
			return nil, fmt.Errorf("input of shape %v has no channels", in)
		}
		if err := checkGiven("channels", ls.Channels, in[0], "channels"); err != nil {
			return nil, err
		}
		return NewGroupNorm[F](*ls.Groups, in[0]), nil
	case "layernorm":
		return NewLayerNorm[F](), nil
	case "dropout":
		return Dropout[F](*ls.P), nil
	case "embedding":
		return NewEmbedding[F](*ls.Vocab, *ls.Dim), nil
	case "residual":
		branch, _, err := buildLayers[F](ls.Branch, in, "branch layer")
		if err != nil {
			return nil, err
		}
		var proj Layer[F]
		if ls.Projection != nil {
			if proj, err = specLayer[F](*ls.Projection, in); err != nil {
				return nil, fmt.Errorf("projection (%s): %w", ls.Projection.Type, err)
			}
		}
		return Residual(proj, branch...), nil
	case "flatten":
		return Flatten[F](), nil
	case "globalavgpool":
		return GlobalAvgPool[F](), nil
	}
	return nil, fmt.Errorf("unknown layer type %q; the types are %s", ls.Type, strings.Join(layerTypes(), ", "))
}

// checkGiven checks an input size the spec gives (field, nil if left out)
// against the got sizes (what: "features" or "channels") that the layer
// before produces.
func checkGiven(field string, given *int, got int, what string) error {
	if given != nil && *given != got {
		return fmt.Errorf("%q is %d but the layer before gives %d %s; drop %q or set it to %d", field, *given, got, what, field, got)
	}
	return nil
}

// layerTypes returns the known layer types, sorted.
func layerTypes() []string {
	var t []string
	for k := range layerFields {
		t = append(t, k)
	}
	sort.Strings(t)
	return t
}

// fieldList describes a layer type's fields for an error message.
func fieldList(required, optional []string) string {
	if len(required)+len(optional) == 0 {
		return "none besides \"type\""
	}
	parts := slices.Clone(required)
	for _, o := range optional {
		parts = append(parts, o+" (optional)")
	}
	return strings.Join(parts, ", ")
}

// jsonErr words encoding/json's errors for a spec's author.
func jsonErr(err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Errorf("not valid JSON at byte %d: %v", se.Offset, err)
	case errors.As(err, &te):
		return fmt.Errorf("field %q is a JSON %s, want %v", te.Field, te.Value, te.Type)
	case errors.Is(err, io.EOF):
		return errors.New("the spec is empty")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("not valid JSON: the text ends before the spec does")
	}
	return err
}

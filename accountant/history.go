package accountant

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Entry is one segment of a privacy history: Steps consecutive steps of the
// subsampled Gaussian mechanism with the same noise multiplier σ and
// sampling rate q.
type Entry struct {
	NoiseMultiplier float64 `json:"noise_multiplier"`
	SampleRate      float64 `json:"sample_rate"`
	Steps           int     `json:"steps"`
}

// Validate reports whether the entry's numbers are in range: σ finite and
// ≥ 0, q in [0, 1], steps ≥ 0.
func (e Entry) Validate() error {
	if err := validateSigma(e.NoiseMultiplier); err != nil {
		return err
	}
	if err := validateRate(e.SampleRate); err != nil {
		return err
	}
	if e.Steps < 0 {
		return fmt.Errorf("accountant: steps is %d; it must be ≥ 0", e.Steps)
	}
	return nil
}

func validateSigma(s float64) error {
	if math.IsNaN(s) || s < 0 || math.IsInf(s, 1) {
		return fmt.Errorf("accountant: noise multiplier σ is %v; it must be finite and ≥ 0", s)
	}
	return nil
}

func validateRate(q float64) error {
	if math.IsNaN(q) || q < 0 || q > 1 {
		return fmt.Errorf("accountant: sample rate q is %v; it must lie in [0, 1] "+
			"(the step hook passes q·k with k accumulated iterations, which must not exceed 1)", q)
	}
	return nil
}

func validateDelta(d float64) error {
	if math.IsNaN(d) || d <= 0 || d >= 1 {
		return fmt.Errorf("accountant: δ is %v; it must lie in the open interval (0, 1), typically 1e-5 or 1/(dataset size)", d)
	}
	return nil
}

// ErrEmptyHistory is returned when ε is asked of a history with no entries.
var ErrEmptyHistory = errors.New("accountant: the history is empty; record steps (Step) or give a history before asking for ε")

// History is a privacy history: segments in the order they happened.
type History []Entry

func (h History) validate() error {
	if len(h) == 0 {
		return ErrEmptyHistory
	}
	for i, e := range h {
		if err := e.Validate(); err != nil {
			return fmt.Errorf("history entry %d: %w", i, err)
		}
	}
	return nil
}

// Steps returns the total number of steps in the history.
func (h History) Steps() int {
	n := 0
	for _, e := range h {
		n += e.Steps
	}
	return n
}

// Add appends steps steps of (σ, q), merging them into the last entry when it
// has exactly the same σ and q (float equality), as Opacus does for one step.
func (h History) Add(sigma, q float64, steps int) History {
	if n := len(h); n > 0 && h[n-1].NoiseMultiplier == sigma && h[n-1].SampleRate == q {
		h[n-1].Steps += steps
		return h
	}
	return append(h, Entry{NoiseMultiplier: sigma, SampleRate: q, Steps: steps})
}

// String formats the history as σ:q:steps segments separated by commas, the
// form ParseHistory reads. Floats are written in their shortest exact form.
func (h History) String() string {
	var b strings.Builder
	for i, e := range h {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatFloat(e.NoiseMultiplier, 'g', -1, 64))
		b.WriteByte(':')
		b.WriteString(strconv.FormatFloat(e.SampleRate, 'g', -1, 64))
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(e.Steps))
	}
	return b.String()
}

// ParseHistory reads segments "σ:q:steps" separated by commas or semicolons,
// for example "1.0:0.01:500,2.0:0.02:300". Consecutive identical segments
// are merged. Every number is validated.
func ParseHistory(s string) (History, error) {
	var h History
	f := func(r rune) bool { return r == ',' || r == ';' }
	for i, seg := range strings.FieldsFunc(s, f) {
		parts := strings.Split(strings.TrimSpace(seg), ":")
		if len(parts) != 3 {
			return nil, fmt.Errorf("accountant: history segment %d %q: want σ:q:steps, e.g. 1.0:0.01:500", i+1, seg)
		}
		sigma, err1 := strconv.ParseFloat(parts[0], 64)
		q, err2 := strconv.ParseFloat(parts[1], 64)
		steps, err3 := strconv.Atoi(parts[2])
		if err := errors.Join(err1, err2, err3); err != nil {
			return nil, fmt.Errorf("accountant: history segment %d %q: %v", i+1, seg, err)
		}
		e := Entry{NoiseMultiplier: sigma, SampleRate: q, Steps: steps}
		if err := e.Validate(); err != nil {
			return nil, fmt.Errorf("history segment %d %q: %w", i+1, seg, err)
		}
		h = h.Add(sigma, q, steps)
	}
	if len(h) == 0 {
		return nil, ErrEmptyHistory
	}
	return h, nil
}

// Mechanism computes ε of a whole history for a δ. RDP, PRV and GDP
// implement it.
type Mechanism interface {
	// Name is the accountant's name: "rdp", "prv" or "gdp".
	Name() string
	// Epsilon returns ε for δ in (0, 1) over the whole history.
	Epsilon(h History, delta float64) (float64, error)
}

// NewMechanism returns the mechanism with Opacus's defaults for a name:
// "rdp", "prv" or "gdp" (Poisson sampling).
func NewMechanism(name string) (Mechanism, error) {
	switch name {
	case "rdp":
		return RDP{}, nil
	case "prv":
		return PRV{}, nil
	case "gdp":
		return GDP{}, nil
	}
	return nil, fmt.Errorf("accountant: unknown accountant %q; choose rdp, prv or gdp", name)
}

// Accountant records the steps of a training run and reports the privacy
// spent. It is not safe for concurrent use.
type Accountant struct {
	mech    Mechanism
	history History
}

// New returns an empty accountant for a mechanism name ("rdp", "prv", "gdp").
func New(name string) (*Accountant, error) {
	m, err := NewMechanism(name)
	if err != nil {
		return nil, err
	}
	return &Accountant{mech: m}, nil
}

// NewWith returns an empty accountant using the given mechanism, for
// non-default settings such as custom RDP orders.
func NewWith(m Mechanism) *Accountant { return &Accountant{mech: m} }

// Mechanism returns the accountant's mechanism.
func (a *Accountant) Mechanism() Mechanism { return a.mech }

// Step records one step with noise multiplier sigma and sampling rate q
// (the optimizer's hook passes q·k for k accumulated iterations). It merges
// with the last entry when σ and q are the same. The GDP accountant, like
// Opacus's, accepts only one (σ, q) pair over a run; unlike Opacus it keeps
// its history intact when it refuses a change.
func (a *Accountant) Step(sigma, q float64) error {
	e := Entry{NoiseMultiplier: sigma, SampleRate: q, Steps: 1}
	if err := e.Validate(); err != nil {
		return err
	}
	if _, ok := a.mech.(GDP); ok && len(a.history) > 0 {
		last := a.history[len(a.history)-1]
		if last.NoiseMultiplier != sigma || last.SampleRate != q {
			return fmt.Errorf("accountant: the gdp accountant needs a constant noise multiplier and sample rate; "+
				"the run used (σ=%v, q=%v) and this step has (σ=%v, q=%v); use rdp or prv for changing schedules",
				last.NoiseMultiplier, last.SampleRate, sigma, q)
		}
	}
	a.history = a.history.Add(sigma, q, 1)
	return nil
}

// History returns a copy of the recorded history.
func (a *Accountant) History() History { return append(History(nil), a.history...) }

// Len returns the number of history entries (not steps), like Opacus.
func (a *Accountant) Len() int { return len(a.history) }

// Epsilon returns ε for δ over everything recorded so far.
func (a *Accountant) Epsilon(delta float64) (float64, error) {
	return a.mech.Epsilon(a.history, delta)
}

// state is the JSON form of an accountant, Opacus's state_dict.
type state struct {
	Mechanism string  `json:"mechanism"`
	History   History `json:"history"`
}

// MarshalJSON saves the accountant's state: {"mechanism": name,
// "history": [{"noise_multiplier", "sample_rate", "steps"}…]}. Floats are
// written in their shortest exact form, so a round trip is exact.
func (a *Accountant) MarshalJSON() ([]byte, error) {
	h := a.history
	if h == nil {
		h = History{}
	}
	return json.Marshal(state{Mechanism: a.mech.Name(), History: h})
}

// UnmarshalJSON restores a state saved by MarshalJSON, replacing the
// history. On an accountant that already has a mechanism, the saved
// mechanism must match it; on a zero Accountant the default mechanism of
// that name is used.
func (a *Accountant) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf("accountant: state is not a JSON object: %w", err)
	}
	if raw["mechanism"] == nil {
		return errors.New(`accountant: state has no "mechanism" field`)
	}
	if raw["history"] == nil {
		return errors.New(`accountant: state has no "history" field`)
	}
	var s state
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("accountant: reading state: %w", err)
	}
	if a.mech == nil {
		m, err := NewMechanism(s.Mechanism)
		if err != nil {
			return err
		}
		a.mech = m
	} else if a.mech.Name() != s.Mechanism {
		return fmt.Errorf("accountant: state was saved by the %q accountant, cannot load it into %q", s.Mechanism, a.mech.Name())
	}
	for i, e := range s.History {
		if err := e.Validate(); err != nil {
			return fmt.Errorf("state history entry %d: %w", i, err)
		}
	}
	a.history = append(History(nil), s.History...)
	return nil
}

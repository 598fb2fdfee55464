package accountant

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
)

// CurvePoint is ε after Step steps of a history.
type CurvePoint struct {
	Step int `json:"step"`
	// Epoch is the expected number of passes over the data, Σ q·steps.
	Epoch   float64 `json:"epoch"`
	Epsilon float64 `json:"epsilon"`
	// Alpha is the best RDP order (RDP curves only; 0 otherwise).
	Alpha float64 `json:"alpha,omitempty"`
}

func validateEvery(h History, every int) (int, error) {
	if err := h.validate(); err != nil {
		return 0, err
	}
	if every <= 0 {
		return 0, fmt.Errorf("accountant: curve spacing is %d steps; it must be ≥ 1", every)
	}
	n := h.Steps()
	if n == 0 {
		return 0, fmt.Errorf("accountant: the history has no steps to draw a curve over")
	}
	return n, nil
}

// curveSteps returns every-th step, 1-based, always ending at the last step.
func curveSteps(n, every int) []int {
	var s []int
	for k := every; k < n; k += every {
		s = append(s, k)
	}
	return append(s, n)
}

// RDPCurve returns ε at every every-th step of the history (and at the last
// step), with the given RDP orders (nil for the defaults). It is
// incremental: the per-step RDP of each segment is computed once, and a
// point costs one multiply-add and one comparison per order. Each point
// equals RDP.EpsilonAlpha of the history truncated at that step, bit for bit.
func RDPCurve(h History, delta float64, every int, orders []float64) ([]CurvePoint, error) {
	r := RDP{Orders: orders}
	if err := r.validate(); err != nil {
		return nil, err
	}
	if err := validateDelta(delta); err != nil {
		return nil, err
	}
	n, err := validateEvery(h, every)
	if err != nil {
		return nil, err
	}
	ord := r.orders()
	conv := newRDPConverter(ord, delta)
	base := make([]float64, len(ord))
	per := make([]float64, len(ord))
	pts := make([]CurvePoint, 0, n/every+1)
	done, epochBase := 0, 0.0
	next := every
	if next > n {
		next = n
	}
	for _, e := range h {
		perStep(per, e.SampleRate, e.NoiseMultiplier, ord)
		for next <= done+e.Steps {
			in := next - done
			eps, alpha := conv.epsilonAt(base, per, float64(in))
			pts = append(pts, CurvePoint{Step: next, Epoch: epochBase + e.SampleRate*float64(in), Epsilon: eps, Alpha: alpha})
			if next == n {
				next = n + 1
			} else if next += every; next > n {
				next = n
			}
		}
		for k := range base {
			base[k] += float64(per[k] * float64(e.Steps)) // rounded product, as Opacus: no FMA
		}
		done += e.Steps
		epochBase += e.SampleRate * float64(e.Steps)
	}
	return pts, nil
}

// truncate returns the first n steps of h.
func (h History) truncate(n int) History {
	var out History
	for _, e := range h {
		if n <= 0 {
			break
		}
		if e.Steps > n {
			e.Steps = n
		}
		out = append(out, e)
		n -= e.Steps
	}
	return out
}

// Curve returns ε at every every-th step (and at the last) for any
// mechanism. RDP uses RDPCurve; PRV and GDP recompute each point from the
// truncated history, so choose every so that there are tens of points.
func Curve(m Mechanism, h History, delta float64, every int) ([]CurvePoint, error) {
	if r, ok := m.(RDP); ok {
		return RDPCurve(h, delta, every, r.Orders)
	}
	if err := validateDelta(delta); err != nil {
		return nil, err
	}
	n, err := validateEvery(h, every)
	if err != nil {
		return nil, err
	}
	var pts []CurvePoint
	for _, s := range curveSteps(n, every) {
		t := h.truncate(s)
		eps, err := m.Epsilon(t, delta)
		if err != nil {
			return pts, fmt.Errorf("curve point at step %d: %w", s, err)
		}
		ep := 0.0
		for _, e := range t {
			ep += e.SampleRate * float64(e.Steps)
		}
		pts = append(pts, CurvePoint{Step: s, Epoch: ep, Epsilon: eps})
	}
	return pts, nil
}

func fmtFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// WriteCurveCSV writes the points as CSV with the header
// step,epoch,epsilon,alpha; floats in shortest exact form.
func WriteCurveCSV(w io.Writer, pts []CurvePoint) error {
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"step", "epoch", "epsilon", "alpha"}); err != nil {
		return err
	}
	for _, p := range pts {
		a := ""
		if p.Alpha != 0 {
			a = fmtFloat(p.Alpha)
		}
		if err := cw.Write([]string{strconv.Itoa(p.Step), fmtFloat(p.Epoch), fmtFloat(p.Epsilon), a}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteCurveJSON writes the points as a JSON array. Infinite ε (σ = 0) is
// not representable in JSON and is reported as an error.
func WriteCurveJSON(w io.Writer, pts []CurvePoint) error {
	for _, p := range pts {
		if math.IsInf(p.Epsilon, 0) || math.IsNaN(p.Epsilon) {
			return fmt.Errorf("accountant: ε at step %d is %v, which JSON cannot represent", p.Step, p.Epsilon)
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(pts)
}

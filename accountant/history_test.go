package accountant

import (
	"encoding/json"
	"math"
	"reflect"
	"testing"
)

func TestStepMerging(t *testing.T) {
	a, err := New("rdp")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []float64{1, 1, 2, 2, 1} {
		if err := a.Step(s, 0.1); err != nil {
			t.Fatal(err)
		}
	}
	want := History{{1, 0.1, 2}, {2, 0.1, 2}, {1, 0.1, 1}}
	if !reflect.DeepEqual(a.History(), want) || a.Len() != 3 {
		t.Errorf("history %v, want %v", a.History(), want)
	}
	if err := a.Step(1, 1.2); err == nil {
		t.Error("q·k = 1.2 accepted")
	}
	g, _ := New("gdp")
	g.Step(1, 0.1)
	if err := g.Step(2, 0.1); err == nil {
		t.Error("gdp accepted a change of σ")
	}
	if !reflect.DeepEqual(g.History(), History{{1, 0.1, 1}}) {
		t.Errorf("gdp history after refusal: %v", g.History())
	}
	if _, err := New("moments"); err == nil {
		t.Error("unknown accountant name accepted")
	}
}

func TestStepsMatchHistory(t *testing.T) {
	// Hetero history built through Step gives the ε of the parsed history.
	a, _ := New("rdp")
	for i := 0; i < 800; i++ {
		s, q := 1.0, 0.01
		if i >= 500 {
			s, q = 2.0, 0.02
		}
		a.Step(s, q)
	}
	h, _ := ParseHistory("1.0:0.01:500;2.0:0.02:300")
	e1, _ := a.Epsilon(1e-5)
	e2, _ := RDP{}.Epsilon(h, 1e-5)
	if e1 != e2 || relErr(e1, 1.7981496170731097) > 1e-12 {
		t.Errorf("via Step %v, parsed %v, want 1.7981496170731097", e1, e2)
	}
}

func TestStateRoundTrip(t *testing.T) {
	a, _ := New("prv")
	a.Step(1.1, 256.0/60000)
	a.Step(1.1, 256.0/60000)
	a.Step(0.7, 0.1)
	b, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	var c Accountant
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	if c.Mechanism().Name() != "prv" || !reflect.DeepEqual(c.History(), a.History()) {
		t.Errorf("restored %s %v from %s", c.Mechanism().Name(), c.History(), b)
	}
	r, _ := New("rdp")
	if err := json.Unmarshal(b, r); err == nil {
		t.Error("prv state loaded into an rdp accountant")
	}
	for _, s := range []string{`{}`, `{"mechanism":"rdp"}`, `{"history":[]}`, `{"mechanism":"rdp","history":[{"noise_multiplier":-1,"sample_rate":0.1,"steps":1}]}`, `[1]`} {
		var x Accountant
		if err := json.Unmarshal([]byte(s), &x); err == nil {
			t.Errorf("%s accepted", s)
		}
	}
}

func TestParseHistoryErrors(t *testing.T) {
	for _, s := range []string{"", "1:0.1", "a:0.1:3", "1:1.1:3", "-1:0.1:3", "1:0.1:-3", "NaN:0.1:3"} {
		if h, err := ParseHistory(s); err == nil {
			t.Errorf("%q parsed as %v", s, h)
		}
	}
	h, err := ParseHistory("1:0.1:3, 1:0.1:2 ,2:0.1:1")
	if err != nil || !reflect.DeepEqual(h, History{{1, 0.1, 5}, {2, 0.1, 1}}) || h.String() != "1:0.1:5,2:0.1:1" {
		t.Errorf("got %v, %v", h, err)
	}
}

func TestPRVHeteroAndEdges(t *testing.T) {
	for _, r := range refRows(t, "hetero.csv") {
		if r["accountant"] != "opacus_prv" {
			continue
		}
		h, err := ParseHistory(r["history_sigma:q:steps"])
		if err != nil {
			t.Fatal(err)
		}
		b, err := PRV{}.Bounds(h, num(t, r, "delta"))
		if err != nil {
			t.Fatalf("%s: %v", r["case"], err)
		}
		if d := math.Abs(b.Upper - num(t, r, "epsilon")); d > prvTol {
			t.Errorf("%s %v: got %v want %s", r["case"], h, b.Upper, r["epsilon"])
		}
	}
	// Opacus: MemoryError (335 GiB) and inf. Here: a DomainError with the RDP bound.
	for _, h := range []History{{{0.5, 1, 100000}}, {{0.2, 0.5, 100}}, {{0.1, 0.01, 100}}} {
		_, err := PRV{}.Epsilon(h, 1e-5)
		var de *DomainError
		if !errorsAs(err, &de) || !(de.RDPEps > 0) {
			t.Errorf("%v: want a DomainError with the RDP bound, got %v", h, err)
		}
	}
	// q = 0 spends nothing: the upper bound is about eps_error, as Opacus.
	eps, err := PRV{}.Epsilon(History{{1, 0, 100}}, 1e-5)
	if err != nil || math.Abs(eps-0.009990009950064075) > 1e-9 {
		t.Errorf("q = 0: %v, %v", eps, err)
	}
	if eps, err := (PRV{}).Epsilon(History{{0, 0.01, 100}}, 1e-5); err != nil || !math.IsInf(eps, 1) {
		t.Errorf("σ = 0: %v, %v; want +Inf", eps, err)
	}
}

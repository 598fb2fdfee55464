package accountant

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestRDPCurveEqualsPointwise(t *testing.T) {
	h, _ := ParseHistory("1.0:0.01:500,2.0:0.02:300,1.0:0.01:7")
	pts, err := RDPCurve(h, 1e-5, 50, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(pts) != 17 || pts[len(pts)-1].Step != 807 {
		t.Fatalf("%d points, last step %d; want 17 ending at 807", len(pts), pts[len(pts)-1].Step)
	}
	for _, p := range pts {
		eps, alpha, err := RDP{}.EpsilonAlpha(h.truncate(p.Step), 1e-5)
		if err != nil || eps != p.Epsilon || alpha != p.Alpha {
			t.Errorf("step %d: curve (%v, %v), direct (%v, %v, %v)", p.Step, p.Epsilon, p.Alpha, eps, alpha, err)
		}
	}
	if want := 500*0.01 + 300*0.02 + 7*0.01; relErr(pts[len(pts)-1].Epoch, want) > 1e-12 {
		t.Errorf("final epoch %v, want %v", pts[len(pts)-1].Epoch, want)
	}
	if _, err := RDPCurve(h, 1e-5, 0, nil); err == nil {
		t.Error("every = 0 accepted")
	}
	// GDP and PRV curves through Curve: each point is the mechanism's ε.
	g := History{{1.1, 0.01, 100}}
	gp, err := Curve(GDP{}, g, 1e-5, 25)
	if err != nil || len(gp) != 4 {
		t.Fatalf("gdp curve: %v %v", gp, err)
	}
	for _, p := range gp {
		eps, _ := GDP{}.Epsilon(History{{1.1, 0.01, p.Step}}, 1e-5)
		if eps != p.Epsilon {
			t.Errorf("gdp step %d: %v vs %v", p.Step, p.Epsilon, eps)
		}
	}
}

func TestCurveOutputs(t *testing.T) {
	h := History{{1.1, 256.0 / 60000, 2000}}
	pts, err := RDPCurve(h, 1e-5, 500, nil)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := WriteCurveCSV(&b, pts); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 5 || lines[0] != "step,epoch,epsilon,alpha" || !strings.HasPrefix(lines[4], "2000,") {
		t.Errorf("CSV:\n%s", b.String())
	}
	b.Reset()
	if err := WriteCurveJSON(&b, pts); err != nil {
		t.Fatal(err)
	}
	var back []CurvePoint
	if err := json.Unmarshal(b.Bytes(), &back); err != nil || len(back) != 4 || back[3] != pts[3] {
		t.Errorf("JSON round trip: %v %v", back, err)
	}
}

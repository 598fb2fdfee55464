package accountant

import "testing"

// Opacus on this machine (reference README): RDP ε 10.6 ms, PRV ε 237 ms
// (q = 0.01, σ = 1, 10,000 steps), RDP calibration 59.6 ms.

func BenchmarkRDPEpsilon(b *testing.B) {
	h := History{{1.0, 0.01, 10000}}
	b.ReportAllocs()
	for b.Loop() {
		RDP{}.Epsilon(h, 1e-5)
	}
}

func BenchmarkPRVEpsilon(b *testing.B) {
	h := History{{1.0, 0.01, 10000}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := (PRV{}).Epsilon(h, 1e-5); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPRVEpsilonTwoSegments is the heterogeneous history of the
// reference tables: two segments compose by whole-pmf FFTs (fullTails).
func BenchmarkPRVEpsilonTwoSegments(b *testing.B) {
	h := History{{1.0, 0.01, 500}, {2.0, 0.02, 300}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := (PRV{}).Epsilon(h, 1e-5); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCalibrateRDP(b *testing.B) {
	c := Calibration{TargetEpsilon: 2, Delta: 1e-5, SampleRate: 0.01, Steps: 10000}
	for b.Loop() {
		if s, _, err := Calibrate(RDP{}, c); err != nil || s != 2.28515625 {
			b.Fatal(s, err)
		}
	}
}

func BenchmarkRDPCurve100k(b *testing.B) {
	h := History{{1.0, 0.01, 100000}}
	b.ReportAllocs()
	for b.Loop() {
		if pts, err := RDPCurve(h, 1e-5, 1, nil); err != nil || len(pts) != 100000 {
			b.Fatal(err)
		}
	}
}

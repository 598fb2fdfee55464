package prec

import "testing"

func TestViews(t *testing.T) {
	if Is32[float64]() || !Is32[float32]() {
		t.Fatal("Is32 misreports the element type")
	}
	x32 := []float32{1, 2, 3}
	v := As32(x32)
	v[1] = 7
	if x32[1] != 7 || len(v) != 3 {
		t.Errorf("As32 is not a view of its argument: %v", x32)
	}
	x64 := []float64{1, 2}
	w := As64(x64)
	w[0] = 5
	if x64[0] != 5 || len(w) != 2 {
		t.Errorf("As64 is not a view of its argument: %v", x64)
	}
	if n := len(As32([]float32(nil))); n != 0 {
		t.Errorf("As32(nil) has length %d", n)
	}
	for name, f := range map[string]func(){
		"As32 of float64": func() { As32([]float64{1}) },
		"As64 of float32": func() { As64([]float32{1}) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s did not panic", name)
				}
			}()
			f()
		}()
	}
}

func TestNoAllocs(t *testing.T) {
	x := make([]float32, 8)
	if a := testing.AllocsPerRun(100, func() { _ = Is32[float32]() && len(As32(x)) == 8 }); a != 0 {
		t.Errorf("Is32 and As32 allocate %v times per call", a)
	}
}

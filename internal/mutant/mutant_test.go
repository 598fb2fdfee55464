package mutant

import "testing"

// TestNormalBuild checks that a build without mutant tags has every switch
// off. Under a mutant tag it checks that exactly one mutant is on.
func TestNormalBuild(t *testing.T) {
	on := Active()
	if len(on) > 1 {
		t.Fatalf("mutants %v are on together; build with one dpmpi_mutant_ tag at a time", on)
	}
	if len(on) == 0 {
		if SigmaScale != 1 || NoNoise || NoiseOverW || SkipClipLayer0 || MaxThreshold || HookEveryOther || KAsOne {
			t.Fatal("a switch is on although Active reports none")
		}
		for _, k := range []int{1, 2, 7} {
			if Passes(k) != k {
				t.Fatalf("Passes(%d) = %d in a normal build", k, Passes(k))
			}
		}
	}
}

package mutant

// Active returns the names (build-tag suffixes) of the mutants compiled into
// this binary, in the order of the package documentation; it is empty in a
// normal build.
func Active() []string {
	var on []string
	for _, m := range []struct {
		name string
		on   bool
	}{
		{"nonoise", NoNoise},
		{"halfsigma", SigmaScale != 1},
		{"noiseoverw", NoiseOverW},
		{"skipclip", SkipClipLayer0},
		{"maxcl", MaxThreshold},
		{"everyother", HookEveryOther},
		{"konce", KAsOne},
	} {
		if m.on {
			on = append(on, m.name)
		}
	}
	return on
}

// Passes returns the number of accumulated passes the step hook reports for
// k real ones: k, or 1 under mutant konce.
func Passes(k int) int {
	if KAsOne {
		return 1
	}
	return k
}

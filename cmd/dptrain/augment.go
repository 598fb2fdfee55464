package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/dpmpi/dpmpi/internal/seed"
)

// augmenter makes the augmented copies of a physical batch: --multiplicity
// k copies of every sample, whose gradients the model averages before
// clipping (nn.Sequential.SetMultiplicity; De et al. 2022). A copy is
// either a random flip and shift of an image (--augment flip,crop=P), drawn
// from a key of (seed, step, sample, copy) so that a resumed run and any
// number of ranks draw the same, or a precomputed view of the sample
// (--augment-views: copy 0 is the sample, copy j its row in view j).
type augmenter struct {
	k     int
	flip  bool
	crop  int        // largest shift in pixels, each way
	shape [3]int     // C, H, W of an image
	views []labelled // precomputed views of the training set
	key   uint64

	x    []float64 // the copies, k·n rows
	y    []int
	keys []int // dropout keys of the rows
}

// parseAugment reads --augment: a comma-separated list of flip and crop=P.
func parseAugment(s string) (flip bool, crop int, err error) {
	if s == "" {
		return false, 0, nil
	}
	for _, f := range strings.Split(s, ",") {
		switch name, val, ok := strings.Cut(f, "="); {
		case f == "flip":
			flip = true
		case name == "crop" && ok:
			crop, err = strconv.Atoi(val)
			if err != nil || crop < 1 {
				return false, 0, fmt.Errorf("--augment %q: crop=P wants a shift P ≥ 1 pixels, got %q", s, val)
			}
		default:
			return false, 0, fmt.Errorf("--augment %q: unknown augmentation %q; use flip and/or crop=P (random shift of up to P pixels, zero-filled)", s, f)
		}
	}
	return flip, crop, nil
}

// newAugmenter returns the augmenter of the flags for a model whose
// samples have shape in, or nil when there is nothing to augment.
func newAugmenter(c *config, in []int, views []labelled) (*augmenter, error) {
	flip, crop, err := parseAugment(c.Augment)
	if err != nil {
		return nil, err
	}
	k := c.Multiplicity
	if len(views) > 0 {
		if k == 0 {
			k = 1 + len(views)
		}
		if k != 1+len(views) {
			return nil, fmt.Errorf("--multiplicity %d with %d --augment-views: the copies are the sample and its views, so the multiplicity must be %d", k, len(views), 1+len(views))
		}
		return &augmenter{k: k, views: views, key: seed.Mix(c.Seed)}, nil
	}
	k = max(k, 1)
	if !flip && crop == 0 {
		if k > 1 {
			return nil, fmt.Errorf("--multiplicity %d without --augment or --augment-views would average identical copies; add --augment flip,crop=2 (images) or --augment-views", k)
		}
		return nil, nil
	}
	if len(in) != 3 {
		return nil, fmt.Errorf("--augment %s flips and shifts images, but the model's samples have shape %v; it needs [C, H, W]", c.Augment, in)
	}
	return &augmenter{k: k, flip: flip, crop: crop, shape: [3]int{in[0], in[1], in[2]}, key: seed.Combine(seed.Mix(c.Seed), seed.Label("augment"))}, nil
}

// expand returns the k copies of the n samples idx (features x, labels y)
// of logical step step: k·n rows, copy j of sample i in row i·k+j, and the
// rows' dropout keys. The slices are reused by the next call.
func (a *augmenter) expand(idx []int, x []float64, y []int, step int) ([]float64, []int, []int) {
	n, k := len(idx), a.k
	d := len(x) / max(n, 1)
	a.x = ensureLen(a.x, n*k*d)
	a.y = ensureLen(a.y, n*k)
	a.keys = ensureLen(a.keys, n*k)
	for i := range n {
		for j := range k {
			r := i*k + j
			a.y[r], a.keys[r] = y[i], idx[i]*k+j
			dst := a.x[r*d : (r+1)*d]
			switch {
			case a.views != nil && j > 0:
				a.views[j-1].Batch(idx[i:i+1], dst, a.y[r:r+1])
				a.y[r] = y[i]
			case a.views != nil:
				copy(dst, x[i*d:(i+1)*d])
			default:
				flip, dy, dx := a.draw(seed.Combine(a.key, seed.Combine(uint64(step), uint64(idx[i])*uint64(k)+uint64(j))))
				a.image(dst, x[i*d:(i+1)*d], flip, dy, dx)
			}
		}
	}
	return a.x, a.y, a.keys
}

// draw returns a copy's transform from its key: a left-right flip with
// probability ½ (with --augment flip) and a shift (dy, dx) uniform on
// [−crop, crop]².
func (a *augmenter) draw(key uint64) (flip bool, dy, dx int) {
	flip = a.flip && key&1 == 1
	if a.crop > 0 {
		span := uint64(2*a.crop + 1)
		dy, dx = int((key>>8)%span)-a.crop, int((key>>32)%span)-a.crop
	}
	return flip, dy, dx
}

// image writes to dst the image src flipped left-right (if flip) and then
// shifted so that dst(r, q) = src(r+dy, q+dx), zero outside: a crop of the
// zero-padded image.
func (a *augmenter) image(dst, src []float64, flip bool, dy, dx int) {
	c, h, w := a.shape[0], a.shape[1], a.shape[2]
	clear(dst)
	for ch := range c {
		for r := range h {
			sr := r + dy
			if sr < 0 || sr >= h {
				continue
			}
			for q := range w {
				sq := q + dx
				if sq < 0 || sq >= w {
					continue
				}
				if flip {
					sq = w - 1 - sq
				}
				dst[(ch*h+r)*w+q] = src[(ch*h+sr)*w+sq]
			}
		}
	}
}

// ensureLen returns buf with length n, reallocated if too small.
func ensureLen[T any](buf []T, n int) []T {
	if cap(buf) >= n {
		return buf[:n]
	}
	return make([]T, n)
}

// Command scaling fits an α–β model of sum-Allreduce to measured runs, takes
// the per-step compute and noise costs from benchmarks, and predicts the DP
// step time and the weak-scaling efficiency of dpmpi from 1 to 1,024 ranks
// for the CNN, the MLP and a 100 M-parameter model, with ring and tree
// Allreduce, both distributed per-layer optimizers and both noise modes. It
// compares the prediction with the measured 1–4-rank points, prints the
// tables of docs/scaling.md and draws the plot.
//
//	go run ./scripts/scaling -in out/scaling -png docs/scaling.png
//
// scripts/scaling.sh measures the inputs (files in -in; docs/scaling-data
// holds those behind docs/scaling.md):
//
//	allreduce-shm.txt, allreduce-tcp.txt  mpi's BenchmarkAllreduce at 2 ranks
//	compute.txt   internal/multihost's BenchmarkModelStep (σ = 0), GOMAXPROCS=1
//	noise.txt     optimizer's BenchmarkNoise, GOMAXPROCS=1 (block: dptrain's generator)
//	overlap-tcp.txt, overlap-shm.txt  internal/multihost's BenchmarkOverlapModel at 2 ranks
//	weak.txt      dptrain weak scaling: "transport model optimizer W step-ms" lines
//
// The model (per logical step, local batch fixed per rank):
//
//	ring:  T_ar(W, n) = 2(W−1)·α + 2(W−1)/W · n·β
//	tree:  T_ar(W, n) = 2⌈log₂W⌉ · (α + n·β)      (binomial reduce, then broadcast)
//	simple: t = t_compute + t_noise + t_scale + T_ar
//	hooks:  t = t_compute + t_noise + (1 − h)·T_ar  (h: measured hidden share, ≥ 0)
//	rank-0 noise: t_noise = P·c_noise;  sharded noise: P·c_noise/W
//	efficiency E(W) = t(1)/t(W)
//
// with α, β fitted to the 2-rank Allreduce (T = α + n·β, weighted by 1/T²
// so that every size counts), n the gradient's bytes, P its values.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"image/color"
	"log"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// scaleNsPerParam is the cost of Simple's scaling pass over the gradient,
// from docs/benchmarks.md (1.3 ms for 1 M parameters).
const scaleNsPerParam = 1.3

// bigParams is the size of the hypothetical large model: a stack of 100
// equal Linear layers.
const bigParams = 100e6

// backwardShare is the backward pass's share of a DP step's compute (the
// per-sample gradients and their norms: about twice the forward pass).
const backwardShare = 0.6

func main() {
	in := flag.String("in", "out/scaling", "directory of the measurements (see the package doc)")
	png := flag.String("png", "docs/scaling.png", "plot to write")
	cores := flag.Int("cores", 2, "cores of the machine that measured weak.txt (ranks beyond them share cores)")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("scaling: ")
	if err := run(*in, *png, *cores); err != nil {
		log.Fatal(err)
	}
}

// link is a fitted α–β model of one transport.
type link struct {
	name        string
	alpha, beta float64 // seconds, seconds per byte
	hidden      float64 // share of the reduction the hook-based optimizer hides, in [0, 1]
}

func (l link) allreduce(alg string, w int, bytes float64) float64 {
	if w <= 1 {
		return 0
	}
	fw := float64(w)
	switch alg {
	case "ring":
		return 2*(fw-1)*l.alpha + 2*(fw-1)/fw*bytes*l.beta
	case "tree":
		return 2 * math.Ceil(math.Log2(fw)) * (l.alpha + bytes*l.beta)
	}
	panic("unknown algorithm " + alg)
}

// model is a network's per-rank step cost at the benchmark's local batch.
type model struct {
	name    string
	params  float64
	compute float64 // seconds per step without noise
	noise   float64 // seconds of rank 0's noise per step
	// hideable is the share of the gradient outside the first layer,
	// whose per-sample gradients exist only when the backward pass ends:
	// the most that any overlap can hide.
	hideable float64
}

// firstLayer holds the number of parameters of each model's first layer.
var firstLayer = map[string]float64{
	"cnn":  16*64 + 16,    // conv 1→16, 8×8
	"mlp":  784*128 + 128, // Linear 784→128
	"mlp3": 784*512 + 512, // Linear 784→512
}

type config struct {
	alg, opt, noise string
}

func (c config) String() string {
	if c.opt == "hooks-ideal" {
		return c.alg + "/hooks, ideal overlap/" + c.noise + " noise"
	}
	return c.alg + "/" + c.opt + "/" + c.noise + " noise"
}

func step(m model, l link, c config, w int) float64 {
	t := m.compute
	if c.noise == "sharded" {
		t += m.noise / float64(w)
	} else {
		t += m.noise
	}
	ar := l.allreduce(c.alg, w, 8*m.params)
	switch c.opt {
	case "simple":
		return t + scaleNsPerParam*1e-9*m.params + ar
	case "hooks-ideal":
		// A transport that moves data without the cores: everything but
		// the first layer's share hides behind the backward pass (taken
		// as 60% of the compute), as far as that pass lasts.
		return t + math.Max((1-m.hideable)*ar, ar-backwardShare*m.compute)
	}
	return t + (1-l.hidden)*ar
}

func efficiency(m model, l link, c config, w int) float64 {
	return step(m, l, c, 1) / step(m, l, c, w)
}

var benchLine = regexp.MustCompile(`^(Benchmark\S+?)(-\d+)?\s+\d+\s+(.*)$`)

// readBench returns, for each benchmark name in file, its metrics (unit →
// values over the repeated lines).
func readBench(file string) (map[string]map[string][]float64, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("%w (scripts/scaling.sh measures it)", err)
	}
	defer f.Close()
	out := make(map[string]map[string][]float64)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		m := benchLine.FindStringSubmatch(strings.TrimSpace(sc.Text()))
		if m == nil {
			continue
		}
		fields := strings.Fields(m[3])
		if out[m[1]] == nil {
			out[m[1]] = make(map[string][]float64)
		}
		for i := 0; i+1 < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				return nil, fmt.Errorf("%s: %q: %v", file, sc.Text(), err)
			}
			out[m[1]][fields[i+1]] = append(out[m[1]][fields[i+1]], v)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s holds no benchmark lines", file)
	}
	return out, nil
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	sort.Float64s(s)
	return s[len(s)/2]
}

// fitLink fits T = α + n·β to the Allreduce benchmark in file (the best
// of the repeated runs at each size, as scripts/bench.sh takes: an estimate
// of the idle machine), by least squares weighted with 1/T² (relative
// residuals).
func fitLink(name, file string) (link, []float64, []float64, error) {
	bench, err := readBench(file)
	if err != nil {
		return link{}, nil, nil, err
	}
	var ns, ts []float64
	for k, m := range bench {
		b, ok := strings.CutPrefix(k, "BenchmarkAllreduce/bytes=")
		if !ok || len(m["ns/op"]) == 0 {
			continue
		}
		n, err := strconv.ParseFloat(b, 64)
		if err != nil {
			return link{}, nil, nil, fmt.Errorf("%s: %s: %v", file, k, err)
		}
		ns = append(ns, n)
		ts = append(ts, slices.Min(m["ns/op"])*1e-9)
	}
	if len(ns) < 2 {
		return link{}, nil, nil, fmt.Errorf("%s: need BenchmarkAllreduce at two sizes or more", file)
	}
	// Weighted normal equations for T = a + b·n, weights 1/T².
	var sw, sn, snn, st, snt float64
	for i := range ns {
		w := 1 / (ts[i] * ts[i])
		sw += w
		sn += w * ns[i]
		snn += w * ns[i] * ns[i]
		st += w * ts[i]
		snt += w * ns[i] * ts[i]
	}
	det := sw*snn - sn*sn
	b := (sw*snt - sn*st) / det
	a := (st - b*sn) / sw
	if a < 0 || b <= 0 {
		return link{}, nil, nil, fmt.Errorf("%s: the fit gave α = %g s, β = %g s/B; the measurements are too noisy", file, a, b)
	}
	return link{name: name, alpha: a, beta: b}, ns, ts, nil
}

// hiddenShare reads the hook-based optimizer's hidden share (per cent) of
// model at batch 32 on per-layer buckets with ReduceConcurrently, clamped
// to [0, 1].
func hiddenShare(file, modelName string) (float64, float64, error) {
	bench, err := readBench(file)
	if err != nil {
		return 0, 0, err
	}
	k := "BenchmarkOverlapModel/model=" + modelName + "/batch=32/buckets=layer/progress=ReduceConcurrently"
	v := bench[k]["hidden-%"]
	if len(v) == 0 {
		return 0, 0, fmt.Errorf("%s: no %s", file, k)
	}
	h := median(v) / 100
	return h, math.Min(1, math.Max(0, h)), nil
}

// weakPoint is one measured weak-scaling step time.
type weakPoint struct {
	transport, model, opt string
	w                     int
	stepMs, lo, hi        float64 // median, range over the runs
}

// readWeak reads weak.txt and returns one point per (transport, model,
// optimizer, W): the median of its runs.
func readWeak(file string) ([]weakPoint, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("%w (scripts/scaling.sh weak measures it)", err)
	}
	type key struct {
		transport, model, opt string
		w                     int
	}
	runs := make(map[key][]float64)
	var order []key
	for i, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		if len(f) != 5 {
			return nil, fmt.Errorf("%s:%d: want \"transport model optimizer W step-ms\"", file, i+1)
		}
		w, err1 := strconv.Atoi(f[3])
		ms, err2 := strconv.ParseFloat(f[4], 64)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("%s:%d: bad W or step time", file, i+1)
		}
		k := key{f[0], f[1], f[2], w}
		if runs[k] == nil {
			order = append(order, k)
		}
		runs[k] = append(runs[k], ms)
	}
	sort.SliceStable(order, func(i, j int) bool {
		a, b := order[i], order[j]
		if a.transport != b.transport {
			return a.transport > b.transport // shm first
		}
		if a.model != b.model {
			return a.model > b.model // mlp first
		}
		if a.opt != b.opt {
			return a.opt > b.opt // simple first
		}
		return a.w < b.w
	})
	var out []weakPoint
	for _, k := range order {
		v := runs[k]
		out = append(out, weakPoint{k.transport, k.model, k.opt, k.w, median(v), slices.Min(v), slices.Max(v)})
	}
	return out, nil
}

func run(in, png string, cores int) error {
	shm, shmN, shmT, err := fitLink("shared memory", filepath.Join(in, "allreduce-shm.txt"))
	if err != nil {
		return err
	}
	tcp, tcpN, tcpT, err := fitLink("TCP link", filepath.Join(in, "allreduce-tcp.txt"))
	if err != nil {
		return err
	}
	rawTCP, hTCP, err := hiddenShare(filepath.Join(in, "overlap-tcp.txt"), "mlp")
	if err != nil {
		return err
	}
	tcp.hidden = hTCP
	rawSHM, hSHM, err := hiddenShare(filepath.Join(in, "overlap-shm.txt"), "mlp")
	if err != nil {
		return err
	}
	shm.hidden = hSHM

	comp, err := readBench(filepath.Join(in, "compute.txt"))
	if err != nil {
		return err
	}
	get := func(name string, sigma int) (float64, float64, error) {
		k := fmt.Sprintf("BenchmarkModelStep/model=%s/sigma=%d", name, sigma)
		m := comp[k]
		if len(m["step-µs"]) == 0 || len(m["params"]) == 0 {
			return 0, 0, fmt.Errorf("compute.txt: no %s", k)
		}
		return slices.Min(m["step-µs"]) * 1e-6, m["params"][0], nil
	}
	noise, err := readBench(filepath.Join(in, "noise.txt"))
	if err != nil {
		return err
	}
	nsCoord := noise["BenchmarkNoise/block"]["ns/coord"]
	if len(nsCoord) == 0 {
		return fmt.Errorf("noise.txt: no BenchmarkNoise/block")
	}
	perCoord := slices.Min(nsCoord) * 1e-9
	var models []model
	for _, name := range []string{"cnn", "mlp", "mlp3"} {
		t0, p, err := get(name, 0)
		if err != nil {
			return err
		}
		models = append(models, model{name: name, params: p, compute: t0, noise: perCoord * p, hideable: 1 - firstLayer[name]/p})
	}
	// The 100 M-parameter model: a stack of Linear layers, with the MLP's
	// (784-512-256-10) cost per parameter and sample and noise per value.
	m3 := models[2]
	models = append(models[:2], model{name: "100M", params: bigParams,
		compute: m3.compute / m3.params * bigParams, noise: m3.noise / m3.params * bigParams, hideable: 0.99})

	fmt.Printf("## Fitted links (2-rank Allreduce, T = α + n·β)\n\n| link | α µs | 1/β GB/s | hidden share (MLP, measured → used) |\n|---|---:|---:|---:|\n")
	for _, x := range []struct {
		l   link
		raw float64
	}{{shm, rawSHM}, {tcp, rawTCP}} {
		fmt.Printf("| %s | %.1f | %.2f | %.0f%% → %.0f%% |\n", x.l.name, x.l.alpha*1e6, 1/x.l.beta/1e9, 100*x.raw, 100*x.l.hidden)
	}
	fmt.Printf("\nFit residuals (measured/fitted):")
	for _, x := range []struct {
		l    link
		n, t []float64
	}{{shm, shmN, shmT}, {tcp, tcpN, tcpT}} {
		fmt.Printf(" %s:", x.l.name)
		idx := make([]int, len(x.n))
		for i := range idx {
			idx[i] = i
		}
		sort.Slice(idx, func(a, b int) bool { return x.n[idx[a]] < x.n[idx[b]] })
		for _, i := range idx {
			fmt.Printf(" %.0fB %.2f", x.n[i], x.t[i]/(x.l.alpha+x.n[i]*x.l.beta))
		}
		fmt.Printf(";")
	}
	fmt.Printf("\n\n## Per-rank costs (batch 256 per rank, one core; noise %.2f ns/coordinate)\n\n| model | parameters | compute ms | rank 0's noise ms | hideable share |\n|---|---:|---:|---:|---:|\n", perCoord*1e9)
	for _, m := range models {
		fmt.Printf("| %s | %.0f | %.2f | %.3f | %.1f%% |\n", m.name, m.params, m.compute*1e3, m.noise*1e3, 100*m.hideable)
	}

	configs := []config{
		{"ring", "hooks", "rank-0"}, {"ring", "simple", "rank-0"}, {"tree", "hooks", "rank-0"}, {"tree", "simple", "rank-0"},
		{"ring", "hooks", "sharded"}, {"ring", "hooks-ideal", "rank-0"},
	}
	ws := []int{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024}
	fmt.Printf("\n## Predicted weak-scaling efficiency over the TCP link\n\n| model | configuration |")
	for _, w := range ws[1:] {
		fmt.Printf(" %d |", w)
	}
	fmt.Printf(" step ms at 1 → 1,024 |\n|---|---|%s---:|\n", strings.Repeat("---:|", len(ws)-1))
	for _, m := range models {
		for _, c := range configs {
			fmt.Printf("| %s | %s |", m.name, c)
			for _, w := range ws[1:] {
				fmt.Printf(" %.3f |", efficiency(m, tcp, c, w))
			}
			fmt.Printf(" %.1f → %.1f |\n", 1e3*step(m, tcp, c, 1), 1e3*step(m, tcp, c, 1024))
		}
	}

	weak, err := readWeak(filepath.Join(in, "weak.txt"))
	if err != nil {
		return err
	}
	fmt.Printf("\n## Measured against predicted (dptrain, batch 256 per rank)\n\nPredicted for %d cores: ranks beyond them share cores; E = t(1)/t(W).\n\n| transport | model | optimizer | W | measured ms (range) | predicted ms (ring) | measured E | predicted E |\n|---|---|---|---:|---:|---:|---:|---:|\n", cores)
	base := make(map[string]float64)
	for _, p := range weak {
		if p.w == 1 {
			base[p.transport+p.model+p.opt] = p.stepMs
		}
	}
	byName := make(map[string]model)
	for _, m := range models {
		byName[m.name] = m
	}
	for _, p := range weak {
		m, ok := byName[p.model]
		if !ok {
			return fmt.Errorf("weak.txt: unknown model %q", p.model)
		}
		l := shm
		if p.transport == "tcp" {
			l = tcp
		}
		// dptrain's hook-based optimizer runs its default schedule,
		// ReduceInStep, which hides nothing.
		l.hidden = 0
		c := config{"ring", p.opt, "rank-0"}
		one := step(m, l, c, 1)
		// More ranks than the measuring machine's cores share them: each
		// rank's compute takes W/cores times longer.
		m.compute *= math.Max(1, float64(p.w)/float64(cores))
		m.noise *= math.Max(1, float64(p.w)/float64(cores))
		meas := "-"
		if b := base[p.transport+p.model+p.opt]; b > 0 {
			meas = fmt.Sprintf("%.2f", b/p.stepMs)
		}
		fmt.Printf("| %s | %s | %s | %d | %.1f (%.1f–%.1f) | %.1f | %s | %.2f |\n", p.transport, p.model, p.opt, p.w, p.stepMs, p.lo, p.hi, 1e3*step(m, l, c, p.w), meas, one/step(m, l, c, p.w))
	}
	return plotEfficiency(png, models, tcp, shm, configs, weak, base)
}

func plotEfficiency(png string, models []model, tcp, shm link, configs []config, weak []weakPoint, base map[string]float64) error {
	colors := []color.Color{
		color.RGBA{0x1f, 0x77, 0xb4, 0xff}, color.RGBA{0xff, 0x7f, 0x0e, 0xff},
		color.RGBA{0x2c, 0xa0, 0x2c, 0xff}, color.RGBA{0xd6, 0x27, 0x28, 0xff}, color.RGBA{0x94, 0x67, 0xbd, 0xff},
		color.RGBA{0x8c, 0x56, 0x4b, 0xff},
	}
	// The legend has a tile of its own (the panels' lines would hide it).
	key := plot.New()
	key.HideAxes()
	key.Title.Text = "weak scaling over the TCP link (batch 256 per rank)"
	key.Legend.Top = true
	key.Legend.Left = true
	key.Legend.TextStyle.Font.Size = vg.Points(11)
	var panels []*plot.Plot
	for _, m := range models {
		p := plot.New()
		p.Title.Text = fmt.Sprintf("%s (%.3g M parameters)", m.name, m.params/1e6)
		p.X.Label.Text = "ranks W"
		p.Y.Label.Text = "weak-scaling efficiency"
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = plot.LogTicks{Prec: -1}
		for i, c := range configs {
			var pts plotter.XYs
			for w := 1; w <= 1024; w *= 2 {
				pts = append(pts, plotter.XY{X: float64(w), Y: efficiency(m, tcp, c, w)})
			}
			ln, err := plotter.NewLine(pts)
			if err != nil {
				return err
			}
			ln.Color = colors[i]
			ln.Width = vg.Points(1.5)
			switch {
			case c.noise == "sharded":
				ln.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
			case c.opt == "hooks-ideal":
				ln.Dashes = []vg.Length{vg.Points(1), vg.Points(2)}
			}
			p.Add(ln)
			if len(panels) == 0 {
				key.Legend.Add("prediction: "+c.String(), ln)
			}
		}
		for _, tr := range []string{"shm", "tcp"} {
			var pts plotter.XYs
			for _, q := range weak {
				if q.model == m.name && q.transport == tr && q.opt == "hooks" && base[q.transport+q.model+q.opt] > 0 {
					pts = append(pts, plotter.XY{X: float64(q.w), Y: math.Min(1.25, base[q.transport+q.model+q.opt]/q.stepMs)})
				}
			}
			if len(pts) == 0 {
				continue
			}
			sc, err := plotter.NewScatter(pts)
			if err != nil {
				return err
			}
			sc.Shape = draw.CircleGlyph{}
			if tr == "tcp" {
				sc.Shape = draw.TriangleGlyph{}
			}
			sc.Radius = vg.Points(3.5)
			p.Add(sc)
			if m.name == "cnn" {
				key.Legend.Add("measured here (2 cores, loaded), dptrain hooks, "+tr, sc)
			}
		}
		p.Y.Min, p.Y.Max = 0, 1.25
		panels = append(panels, p)
	}
	panels = append(panels, key)
	var plots [][]*plot.Plot
	for i := 0; i < len(panels); i += 2 {
		plots = append(plots, panels[i:min(i+2, len(panels))])
	}
	const w, h = 11 * vg.Inch, 9 * vg.Inch
	img := vgimg.New(w, h)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: len(plots), Cols: 2, PadX: vg.Millimeter * 4, PadY: vg.Millimeter * 4, PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
	canvases := plot.Align(plots, tiles, dc)
	for j := range plots {
		for i := range plots[j] {
			if plots[j][i] != nil {
				plots[j][i].Draw(canvases[j][i])
			}
		}
	}
	f, err := os.Create(png)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

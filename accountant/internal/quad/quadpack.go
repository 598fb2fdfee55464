package quad

import "math"

// Gauss–Kronrod 21-point rule on [−1, 1]: Kronrod nodes (odd indices are
// the 10 Gauss nodes) and weights, computed for this package with 60-digit
// arithmetic; wg are the Gauss weights of nodes xgk[1], xgk[3], ….
var (
	xgk = [11]float64{
		0.9956571630258080807355273, 0.9739065285171717200779640, 0.9301574913557082260012072,
		0.8650633666889845107320967, 0.7808177265864168970637176, 0.6794095682990244062343274,
		0.5627571346686046833390001, 0.4333953941292471907992659, 0.2943928627014601981311266,
		0.1488743389816312108848260, 0}
	wgk = [11]float64{
		0.0116946388673718742780644, 0.03255816230796472747881897, 0.0547558965743519960313813,
		0.07503967481091995276704314, 0.09312545458369760553506547, 0.1093871588022976418992106,
		0.1234919762620658510779581, 0.134709217311473325928054, 0.1427759385770600807970943,
		0.1477391049013384913748415, 0.1494455540029169056649365}
	wg = [5]float64{
		0.06667134430868813759356881, 0.1494513491505805931457763, 0.2190863625159820439955349,
		0.2692667193099963550912269, 0.295524224714752870173893}
)

const (
	epmach = 2.220446049250313e-16
	uflow  = 2.2250738585072014e-308
	oflow  = math.MaxFloat64
)

// qk21 is QUADPACK's dqk21: the 21-point Kronrod estimate of ∫_a^b f, its
// error estimate, ∫|f| and ∫|f − mean|.
func qk21(f func(float64) float64, a, b float64) (result, abserr, resabs, resasc float64) {
	centr := 0.5 * (a + b)
	hlgth := 0.5 * (b - a)
	dhlgth := math.Abs(hlgth)
	var fv1, fv2 [10]float64
	resg := 0.0
	fc := f(centr)
	resk := wgk[10] * fc
	resabs = math.Abs(resk)
	for j := 0; j < 5; j++ {
		jtw := 2*j + 1
		absc := hlgth * xgk[jtw]
		f1, f2 := f(centr-absc), f(centr+absc)
		fv1[jtw], fv2[jtw] = f1, f2
		fsum := f1 + f2
		resg += wg[j] * fsum
		resk += wgk[jtw] * fsum
		resabs += wgk[jtw] * (math.Abs(f1) + math.Abs(f2))
	}
	for j := 0; j < 5; j++ {
		jtwm1 := 2 * j
		absc := hlgth * xgk[jtwm1]
		f1, f2 := f(centr-absc), f(centr+absc)
		fv1[jtwm1], fv2[jtwm1] = f1, f2
		fsum := f1 + f2
		resk += wgk[jtwm1] * fsum
		resabs += wgk[jtwm1] * (math.Abs(f1) + math.Abs(f2))
	}
	reskh := resk * 0.5
	resasc = wgk[10] * math.Abs(fc-reskh)
	for j := 0; j < 10; j++ {
		resasc += wgk[j] * (math.Abs(fv1[j]-reskh) + math.Abs(fv2[j]-reskh))
	}
	result = resk * hlgth
	resabs *= dhlgth
	resasc *= dhlgth
	abserr = math.Abs((resk - resg) * hlgth)
	if resasc != 0 && abserr != 0 {
		abserr = resasc * math.Min(1, math.Pow(200*abserr/resasc, 1.5))
	}
	if resabs > uflow/(50*epmach) {
		abserr = math.Max(epmach*50*resabs, abserr)
	}
	return
}

// qpsrt is QUADPACK's dqpsrt: it keeps iord ordered by decreasing error.
// Indices are 1-based as in the Fortran (slot 0 unused).
func qpsrt(limit, last int, maxerr *int, ermax *float64, elist []float64, iord []int, nrmax *int) {
	if last <= 2 {
		iord[1], iord[2] = 1, 2
	} else {
		errmax := elist[*maxerr]
		if *nrmax != 1 {
			ido := *nrmax - 1
			for i := 1; i <= ido; i++ {
				isucc := iord[*nrmax-1]
				if errmax <= elist[isucc] {
					break
				}
				iord[*nrmax] = isucc
				*nrmax--
			}
		}
		jupbn := last
		if last > limit/2+2 {
			jupbn = limit + 3 - last
		}
		errmin := elist[last]
		jbnd := jupbn - 1
		ibeg := *nrmax + 1
		inserted := false
		if ibeg <= jbnd {
			for i := ibeg; i <= jbnd; i++ {
				isucc := iord[i]
				if errmax >= elist[isucc] {
					iord[i-1] = *maxerr
					k := jbnd
					placed := false
					for j := i; j <= jbnd; j++ {
						isucc := iord[k]
						if errmin < elist[isucc] {
							iord[k+1] = last
							placed = true
							break
						}
						iord[k+1] = isucc
						k--
					}
					if !placed {
						iord[i] = last
					}
					inserted = true
					break
				}
				iord[i-1] = isucc
			}
		}
		if !inserted {
			iord[jbnd] = *maxerr
			iord[jupbn] = last
		}
	}
	*maxerr = iord[*nrmax]
	*ermax = elist[*maxerr]
}

// qelg is QUADPACK's dqelg, Wynn's epsilon algorithm. epstab and res3la
// are 1-based (slot 0 unused); n and nres are updated.
func qelg(n *int, epstab []float64, res3la []float64, nres *int) (result, abserr float64) {
	*nres++
	abserr = oflow
	result = epstab[*n]
	if *n < 3 {
		return result, math.Max(abserr, 5*epmach*math.Abs(result))
	}
	const limexp = 50
	epstab[*n+2] = epstab[*n]
	newelm := (*n - 1) / 2
	epstab[*n] = oflow
	num := *n
	k1 := *n
	converged := false
	for i := 1; i <= newelm; i++ {
		k2, k3 := k1-1, k1-2
		res := epstab[k1+2]
		e0, e1, e2 := epstab[k3], epstab[k2], res
		e1abs := math.Abs(e1)
		delta2 := e2 - e1
		err2 := math.Abs(delta2)
		tol2 := math.Max(math.Abs(e2), e1abs) * epmach
		delta3 := e1 - e0
		err3 := math.Abs(delta3)
		tol3 := math.Max(e1abs, math.Abs(e0)) * epmach
		if err2 <= tol2 && err3 <= tol3 {
			result = res
			abserr = err2 + err3
			converged = true
			break
		}
		e3 := epstab[k1]
		epstab[k1] = e1
		delta1 := e1 - e3
		err1 := math.Abs(delta1)
		tol1 := math.Max(e1abs, math.Abs(e3)) * epmach
		if err1 <= tol1 || err2 <= tol2 || err3 <= tol3 {
			*n = i + i - 1
			break
		}
		ss := 1/delta1 + 1/delta2 - 1/delta3
		epsinf := math.Abs(ss * e1)
		if epsinf <= 1e-4 {
			*n = i + i - 1
			break
		}
		res = e1 + 1/ss
		epstab[k1] = res
		k1 -= 2
		errv := err2 + math.Abs(res-e2) + err3
		if errv <= abserr {
			abserr = errv
			result = res
		}
	}
	if !converged {
		if *n == limexp {
			*n = 2*(limexp/2) - 1
		}
		ib := 1
		if (num/2)*2 == num {
			ib = 2
		}
		ie := newelm + 1
		for i := 1; i <= ie; i++ {
			ib2 := ib + 2
			epstab[ib] = epstab[ib2]
			ib = ib2
		}
		if num != *n {
			indx := num - *n + 1
			for i := 1; i <= *n; i++ {
				epstab[i] = epstab[indx]
				indx++
			}
		}
		if *nres < 4 {
			res3la[*nres] = result
			abserr = oflow
		} else {
			abserr = math.Abs(result-res3la[3]) + math.Abs(result-res3la[2]) + math.Abs(result-res3la[1])
			res3la[1], res3la[2], res3la[3] = res3la[2], res3la[3], result
		}
	}
	return result, math.Max(abserr, 5*epmach*math.Abs(result))
}

// A Workspace holds the subinterval tables of QAGS for up to limit
// subintervals, for several integrals in a row without allocating. It is
// not safe for concurrent use.
type Workspace struct {
	limit                      int
	alist, blist, rlist, elist []float64
	iord                       []int
	rlist2, res3la             []float64
}

// NewWorkspace returns a Workspace for up to limit subintervals (scipy's
// default is 50; Opacus's PRV accountant passes 500).
func NewWorkspace(limit int) *Workspace {
	return &Workspace{limit: limit, alist: make([]float64, limit+1), blist: make([]float64, limit+1),
		rlist: make([]float64, limit+1), elist: make([]float64, limit+1), iord: make([]int, limit+1),
		rlist2: make([]float64, 53), res3la: make([]float64, 4)}
}

// QAGS returns ∫_a^b f as QUADPACK's dqagse computes it when
// scipy.integrate.quad calls it for a finite interval (epsabs = epsrel =
// 1.49e-8 by default, w's limit of subintervals): adaptive 21-point
// Gauss–Kronrod bisection with Wynn extrapolation. Opacus integrates the
// PRV CDF with it, and the PRV mean—hence ε after n steps, which moves by n
// times any difference in it—depends on its exact stopping point, so the
// port follows it step by step. Like scipy with full_output off, it returns
// the estimate whatever dqagse's error code. w is cleared first.
func (w *Workspace) QAGS(f func(float64) float64, a, b, epsabs, epsrel float64) float64 {
	limit := w.limit
	alist, blist, rlist, elist, iord, rlist2, res3la := w.alist, w.blist, w.rlist, w.elist, w.iord, w.rlist2, w.res3la
	for _, x := range [][]float64{alist, blist, rlist, elist, rlist2, res3la} {
		clear(x)
	}
	clear(iord)
	ier, ierro := 0, 0
	alist[1], blist[1] = a, b
	result, abserr, defabs, resabs := qk21(f, a, b)
	dres := math.Abs(result)
	errbnd := math.Max(epsabs, epsrel*dres)
	last := 1
	rlist[1], elist[1], iord[1] = result, abserr, 1
	if abserr <= 100*epmach*defabs && abserr > errbnd {
		ier = 2
	}
	if limit == 1 {
		ier = 1
	}
	if ier != 0 || (abserr <= errbnd && abserr != resabs) || abserr == 0 {
		return result
	}
	rlist2[1] = result
	errmax, maxerr := abserr, 1
	area, errsum := result, abserr
	abserr = oflow
	nrmax, nres, numrl2, ktmin := 1, 0, 2, 0
	extrap, noext := false, false
	iroff1, iroff2, iroff3 := 0, 0, 0
	var small, erlarg, ertest, correc float64
	sumAll := func() float64 {
		s := 0.0
		for k := 1; k <= last; k++ {
			s += rlist[k]
		}
		return s
	}
	final := func() float64 { // label 100 of dqagse
		if abserr == oflow {
			return sumAll()
		}
		if ier+ierro != 0 {
			if ierro == 3 {
				abserr += correc
			}
			if ier == 0 {
				ier = 3
			}
			if result != 0 && area != 0 {
				if abserr/math.Abs(result) > errsum/math.Abs(area) {
					return sumAll()
				}
			} else if abserr > errsum {
				return sumAll()
			} else if area == 0 {
				return result
			}
		}
		// dqagse's divergence test (label 110) only sets an error code.
		return result
	}
	for last = 2; last <= limit; last++ {
		a1 := alist[maxerr]
		b1 := 0.5 * (alist[maxerr] + blist[maxerr])
		a2, b2 := b1, blist[maxerr]
		erlast := errmax
		area1, error1, _, defab1 := qk21(f, a1, b1)
		area2, error2, _, defab2 := qk21(f, a2, b2)
		area12 := area1 + area2
		erro12 := error1 + error2
		errsum = errsum + erro12 - errmax
		area = area + area12 - rlist[maxerr]
		if defab1 != error1 && defab2 != error2 {
			if math.Abs(rlist[maxerr]-area12) <= 1e-5*math.Abs(area12) && erro12 >= 0.99*errmax {
				if extrap {
					iroff2++
				} else {
					iroff1++
				}
			}
			if last > 10 && erro12 > errmax {
				iroff3++
			}
		}
		rlist[maxerr], rlist[last] = area1, area2
		errbnd = math.Max(epsabs, epsrel*math.Abs(area))
		if iroff1+iroff2 >= 10 || iroff3 >= 20 {
			ier = 2
		}
		if iroff2 >= 5 {
			ierro = 3
		}
		if last == limit {
			ier = 1
		}
		if math.Max(math.Abs(a1), math.Abs(b2)) <= (1+100*epmach)*(math.Abs(a2)+1000*uflow) {
			ier = 4
		}
		if error2 > error1 {
			alist[maxerr] = a2
			alist[last], blist[last] = a1, b1
			rlist[maxerr], rlist[last] = area2, area1
			elist[maxerr], elist[last] = error2, error1
		} else {
			alist[last] = a2
			blist[maxerr], blist[last] = b1, b2
			elist[maxerr], elist[last] = error1, error2
		}
		qpsrt(limit, last, &maxerr, &errmax, elist, iord, &nrmax)
		if errsum <= errbnd {
			return sumAll()
		}
		if ier != 0 {
			return final()
		}
		if last == 2 {
			small = math.Abs(b-a) * 0.375
			erlarg, ertest = errsum, errbnd
			rlist2[2] = area
			continue
		}
		if noext {
			continue
		}
		erlarg -= erlast
		if math.Abs(b1-a1) > small {
			erlarg += erro12
		}
		if !extrap {
			if math.Abs(blist[maxerr]-alist[maxerr]) > small {
				continue
			}
			extrap = true
			nrmax = 2
		}
		skip := false
		if ierro != 3 && erlarg > ertest {
			id, jupbnd := nrmax, last
			if last > 2+limit/2 {
				jupbnd = limit + 3 - last
			}
			for k := id; k <= jupbnd; k++ {
				maxerr = iord[nrmax]
				errmax = elist[maxerr]
				if math.Abs(blist[maxerr]-alist[maxerr]) > small {
					skip = true
					break
				}
				nrmax++
			}
		}
		if skip {
			continue
		}
		numrl2++
		rlist2[numrl2] = area
		reseps, abseps := qelg(&numrl2, rlist2, res3la, &nres)
		ktmin++
		if ktmin > 5 && abserr < 1e-3*errsum {
			ier = 5
		}
		if abseps < abserr {
			ktmin = 0
			abserr, result, correc = abseps, reseps, erlarg
			ertest = math.Max(epsabs, epsrel*math.Abs(reseps))
			if abserr <= ertest {
				return final()
			}
		}
		if numrl2 == 1 {
			noext = true
		}
		if ier == 5 {
			return final()
		}
		maxerr = iord[1]
		errmax = elist[maxerr]
		nrmax = 1
		extrap = false
		small *= 0.5
		erlarg = errsum
	}
	return final()
}

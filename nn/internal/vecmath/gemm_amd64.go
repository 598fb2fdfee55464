//go:build amd64

package vecmath

// The tile kernels of gemm_amd64.s compute the r×8 block of C at c (r = 6,
// 4, 2 or 1 rows), C(i, j) = Σ_p a[i·rsA + p·csA]·b[p·ldb + j] over k ≥ 1
// steps, added to the block's old values when acc is set. Strides are in
// elements. They do not check bounds.

//go:noescape
func gemm6x8(k int, a *float64, rsA, csA int, b *float64, ldb int, c *float64, ldc int, acc bool)

//go:noescape
func gemm4x8(k int, a *float64, rsA, csA int, b *float64, ldb int, c *float64, ldc int, acc bool)

//go:noescape
func gemm2x8(k int, a *float64, rsA, csA int, b *float64, ldb int, c *float64, ldc int, acc bool)

//go:noescape
func gemm1x8(k int, a *float64, rsA, csA int, b *float64, ldb int, c *float64, ldc int, acc bool)

// gemmTiles runs the tile kernels over C. The loop over the larger of the
// two operands is the outer one, so that the smaller stays in the first
// level cache: by column blocks of B (each k×8) when A has fewer rows than B
// has columns, by row panels of A otherwise.
func gemmTiles(m, n, k int, a []float64, rsA, csA int, b []float64, ldb int, c []float64, ldc int, acc bool) {
	panel := func(i, j int) int {
		ap, bp, cp := &a[i*rsA], &b[j], &c[i*ldc+j]
		switch r := m - i; {
		case r >= 6:
			gemm6x8(k, ap, rsA, csA, bp, ldb, cp, ldc, acc)
			return 6
		case r >= 4:
			gemm4x8(k, ap, rsA, csA, bp, ldb, cp, ldc, acc)
			return 4
		case r >= 2:
			gemm2x8(k, ap, rsA, csA, bp, ldb, cp, ldc, acc)
			return 2
		default:
			gemm1x8(k, ap, rsA, csA, bp, ldb, cp, ldc, acc)
			return 1
		}
	}
	if m < n {
		for j := 0; j < n; j += 8 {
			for i := 0; i < m; {
				i += panel(i, j)
			}
		}
		return
	}
	for i := 0; i < m; {
		var r int
		for j := 0; j < n; j += 8 {
			r = panel(i, j)
		}
		i += r
	}
}

// The gathered-B kernels compute the same tiles with B row p read at
// b[off[p]:] (columns 0-3) and b[off[p]+half:] (columns 4-7).

//go:noescape
func gemmGather6x8(k int, a *float64, rsA, csA int, b *float64, off *int, half int, c *float64, ldc int, acc bool)

//go:noescape
func gemmGather4x8(k int, a *float64, rsA, csA int, b *float64, off *int, half int, c *float64, ldc int, acc bool)

//go:noescape
func gemmGather2x8(k int, a *float64, rsA, csA int, b *float64, off *int, half int, c *float64, ldc int, acc bool)

//go:noescape
func gemmGather1x8(k int, a *float64, rsA, csA int, b *float64, off *int, half int, c *float64, ldc int, acc bool)

// gemmGatherTiles runs the gathered-B kernels over C, by column blocks:
// block q reads B at b[blockOff[q]:].
func gemmGatherTiles(m, n, k int, a []float64, rsA, csA int, b []float64, rowOff, blockOff []int, half int, c []float64, ldc int, acc bool) {
	for q := 0; q < n/8; q++ {
		bp, j := &b[blockOff[q]], 8*q
		for i := 0; i < m; {
			ap, cp := &a[i*rsA], &c[i*ldc+j]
			switch r := m - i; {
			case r >= 6:
				gemmGather6x8(k, ap, rsA, csA, bp, &rowOff[0], half, cp, ldc, acc)
				i += 6
			case r >= 4:
				gemmGather4x8(k, ap, rsA, csA, bp, &rowOff[0], half, cp, ldc, acc)
				i += 4
			case r >= 2:
				gemmGather2x8(k, ap, rsA, csA, bp, &rowOff[0], half, cp, ldc, acc)
				i += 2
			default:
				gemmGather1x8(k, ap, rsA, csA, bp, &rowOff[0], half, cp, ldc, acc)
				i++
			}
		}
	}
}

// The gathered-A kernels compute the same tiles with A(i, p) read at
// a[rowOff[i] + colOff[p]] and B by rows.

//go:noescape
func gemmGatherA6x8(k int, a *float64, rowOff, colOff *int, b *float64, ldb int, c *float64, ldc int, acc bool)

//go:noescape
func gemmGatherA4x8(k int, a *float64, rowOff, colOff *int, b *float64, ldb int, c *float64, ldc int, acc bool)

//go:noescape
func gemmGatherA2x8(k int, a *float64, rowOff, colOff *int, b *float64, ldb int, c *float64, ldc int, acc bool)

//go:noescape
func gemmGatherA1x8(k int, a *float64, rowOff, colOff *int, b *float64, ldb int, c *float64, ldc int, acc bool)

// gemmGatherATiles runs the gathered-A kernels over C by row panels.
func gemmGatherATiles(m, n, k int, a []float64, rowOff, colOff []int, b []float64, ldb int, c []float64, ldc int, acc bool) {
	ap, cop := &a[0], &colOff[0]
	for i := 0; i < m; {
		rp := &rowOff[i]
		switch r := m - i; {
		case r >= 6:
			for j := 0; j < n; j += 8 {
				gemmGatherA6x8(k, ap, rp, cop, &b[j], ldb, &c[i*ldc+j], ldc, acc)
			}
			i += 6
		case r >= 4:
			for j := 0; j < n; j += 8 {
				gemmGatherA4x8(k, ap, rp, cop, &b[j], ldb, &c[i*ldc+j], ldc, acc)
			}
			i += 4
		case r >= 2:
			for j := 0; j < n; j += 8 {
				gemmGatherA2x8(k, ap, rp, cop, &b[j], ldb, &c[i*ldc+j], ldc, acc)
			}
			i += 2
		default:
			for j := 0; j < n; j += 8 {
				gemmGatherA1x8(k, ap, rp, cop, &b[j], ldb, &c[i*ldc+j], ldc, acc)
			}
			i++
		}
	}
}

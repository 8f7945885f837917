package bindings

import (
	"errors"
	"fmt"
	"math"
	"math/rand"
	"strings"
	"testing"
)

// ---- test images ----

// testImages makes n [c,h,w] images that look like photographs at small scale: a smooth
// gradient, a bright rectangle and a dark disc (edges), a fine checkerboard (texture) and a
// little grain, kept within [0.1, 0.9] so that noise is not clipped away.
func testImages(n, c, h, w int, seed int64) []float32 {
	r := rand.New(rand.NewSource(seed))
	out := make([]float32, n*c*h*w)
	for i := 0; i < n; i++ {
		x0, y0 := r.Intn(w/2), r.Intn(h/2)
		cx, cy, rad := float64(w)*(0.4+0.3*r.Float64()), float64(h)*(0.4+0.3*r.Float64()), float64(min(h, w))/5
		for ch := 0; ch < c; ch++ {
			tint := 0.05 * float64(ch)
			for y := 0; y < h; y++ {
				for x := 0; x < w; x++ {
					v := 0.3 + 0.2*float64(x)/float64(w) + 0.1*float64(y)/float64(h) + tint
					if x >= x0 && x < x0+w/3 && y >= y0 && y < y0+h/3 {
						v += 0.3
					}
					if dx, dy := float64(x)-cx, float64(y)-cy; dx*dx+dy*dy < rad*rad {
						v -= 0.2
					}
					if y > h/2 && (x+y)%2 == 0 {
						v += 0.06
					}
					v += 0.01 * r.NormFloat64()
					out[((i*c+ch)*h+y)*w+x] = float32(math.Max(0.1, math.Min(0.9, v)))
				}
			}
		}
	}
	return out
}

func f32s(t *testing.T, x *Tensor) []float32 {
	t.Helper()
	v, err := x.F32()
	noErr(t, err)
	return v
}

func i64s(t *testing.T, x *Tensor) []int64 {
	t.Helper()
	v, err := x.I64()
	noErr(t, err)
	return v
}

func stats(t *testing.T, e *Engine, x *Tensor) [][NumStats]float32 {
	t.Helper()
	s, err := e.ImageStats(x)
	noErr(t, err)
	defer s.Close()
	flat := f32s(t, s)
	out := make([][NumStats]float32, len(flat)/NumStats)
	for i := range out {
		copy(out[i][:], flat[i*NumStats:])
	}
	return out
}

// ---- pure-Go references of the CPU path (cuda/*.cuh) ----

func mix64(z uint64) uint64 {
	z += 0x9E3779B97F4A7C15
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

func uniform24(b uint32) float64 { return float64(b) / 16777216 }

func refCondition(x []float32, n, c, h, w int, cond Condition, sev []float32, seed uint64) []float32 {
	out := make([]float32, len(x))
	img, plane := c*h*w, h*w
	for i := 0; i < n; i++ {
		p, q, s := x[i*img:(i+1)*img], out[i*img:(i+1)*img], float64(sev[i])
		if s <= 0 {
			copy(q, p)
			continue
		}
		switch cond {
		case CondBlur:
			// In float32 as the engine: the radius rounds differently in float64 (s = 0.8: 6 vs 7).
			sigma32 := float32(2.5) * sev[i]
			sigma := float64(sigma32)
			r := min(int(math.Ceil(float64(3*sigma32))), 8)
			line := func(get func(int) float64, n, i int) float64 {
				acc, ws := 0.0, 0.0
				for k := -r; k <= r; k++ {
					j := max(0, min(n-1, i+k))
					wt := math.Exp(-float64(k*k) / (2 * sigma * sigma))
					acc += wt * get(j)
					ws += wt
				}
				return acc / ws
			}
			for ch := 0; ch < c; ch++ {
				tmp := make([]float64, plane)
				pc := p[ch*plane:]
				for y := 0; y < h; y++ {
					for xx := 0; xx < w; xx++ {
						tmp[y*w+xx] = line(func(j int) float64 { return float64(pc[y*w+j]) }, w, xx)
					}
				}
				for y := 0; y < h; y++ {
					for xx := 0; xx < w; xx++ {
						q[ch*plane+y*w+xx] = float32(line(func(j int) float64 { return tmp[j*w+xx] }, h, y))
					}
				}
			}
		case CondShadow:
			hh := mix64(mix64(seed^0x5348414457000001) + uint64(i))
			a := 2 * math.Pi * uniform24(uint32(hh>>40))
			cs, sn := math.Cos(a), math.Sin(a)
			cx, cy := 0.5*float64(w-1), 0.5*float64(h-1)
			half := math.Abs(cs)*cx + math.Abs(sn)*cy
			for ch := 0; ch < c; ch++ {
				for y := 0; y < h; y++ {
					for xx := 0; xx < w; xx++ {
						t := 0.5
						if half > 0 {
							t = 0.5 + 0.5*((float64(xx)-cx)*cs+(float64(y)-cy)*sn)/half
						}
						t = math.Max(0, math.Min(1, t))
						k := ch*plane + y*w + xx
						q[k] = float32(float64(p[k]) * (1 - 0.8*s*t))
					}
				}
			}
		case CondLowContrast:
			m := 0.0
			for _, v := range p {
				m += float64(v)
			}
			m /= float64(img)
			f := 1 - 0.8*s
			for k, v := range p {
				q[k] = float32(float64(v)*f + m*(1-f))
			}
		case CondNoise:
			key := mix64(mix64(seed^0x4E4F495345000002) + uint64(i))
			for k, v := range p {
				r := mix64(key ^ mix64(uint64(k)))
				u1 := uniform24(uint32(r>>40)) + 1.0/16777216
				u2 := uniform24(uint32(r>>8) & 0xFFFFFF)
				z := math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*u2)
				q[k] = float32(math.Max(0, math.Min(1, float64(v)+0.2*s*z)))
			}
		}
	}
	return out
}

func refStats(x []float32, n, c, h, w int) [][NumStats]float64 {
	out := make([][NumStats]float64, n)
	img, plane := c*h*w, h*w
	for i := 0; i < n; i++ {
		p := x[i*img : (i+1)*img]
		m := 0.0
		for _, v := range p {
			m += float64(v)
		}
		m /= float64(img)
		vr := 0.0
		for _, v := range p {
			vr += (float64(v) - m) * (float64(v) - m)
		}
		out[i][StatBrightness] = m
		out[i][StatContrast] = math.Sqrt(vr / float64(img))
		if h < 3 || w < 3 {
			continue
		}
		var lapVar, absMask float64
		for ch := 0; ch < c; ch++ {
			at := func(y, x int) float64 { return float64(p[ch*plane+y*w+x]) }
			var ls []float64
			for y := 1; y < h-1; y++ {
				for x := 1; x < w-1; x++ {
					ls = append(ls, at(y-1, x)+at(y+1, x)+at(y, x-1)+at(y, x+1)-4*at(y, x))
					mk := 0.0
					for dy := -1; dy <= 1; dy++ {
						for dx := -1; dx <= 1; dx++ {
							wt := [3][3]float64{{1, -2, 1}, {-2, 4, -2}, {1, -2, 1}}[dy+1][dx+1]
							mk += wt * at(y+dy, x+dx)
						}
					}
					absMask += math.Abs(mk)
				}
			}
			lm := 0.0
			for _, l := range ls {
				lm += l
			}
			lm /= float64(len(ls))
			lv := 0.0
			for _, l := range ls {
				lv += (l - lm) * (l - lm)
			}
			lapVar += lv / float64(len(ls))
		}
		out[i][StatSharpness] = lapVar / float64(c)
		out[i][StatNoise] = math.Sqrt(math.Pi/2) * absMask / (6 * float64((w-2)*(h-2)*c))
	}
	return out
}

func isFinite32(v float32) bool { return !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0) }

func refScreen(logits []float32, k int, intended []int64, conf []float32, pt, ct float32) ([]Verdict, []float32, []int64) {
	n := len(intended)
	verdict, prob, acc := make([]Verdict, n), make([]float32, n), []int64{}
	for i := 0; i < n; i++ {
		row := logits[i*k : (i+1)*k]
		bad, arg := false, 0
		for j, v := range row {
			if !isFinite32(v) {
				bad = true
			} else if v > row[arg] {
				arg = j
			}
		}
		if bad {
			verdict[i] = VerdictNaN
			continue
		}
		m, sum := float64(row[arg]), 0.0
		for _, v := range row {
			sum += math.Exp(float64(v) - m)
		}
		p := float32(math.Exp(float64(row[intended[i]])-m) / sum)
		prob[i] = p
		switch {
		case conf != nil && !isFinite32(conf[i]):
			verdict[i] = VerdictNaN
		case int64(arg) != intended[i]:
			verdict[i] = VerdictLabel
		case p < pt:
			verdict[i] = VerdictProb
		case conf != nil && conf[i] < ct:
			verdict[i] = VerdictConfidence
		default:
			verdict[i] = VerdictAccept
			acc = append(acc, int64(i))
		}
	}
	return verdict, prob, acc
}

// screenInputs makes n rows of k logits with NaN/Inf rows, ties and a confidence per row, and
// intended labels that agree with the argmax about two thirds of the time.
func screenInputs(n, k int, seed int64) (logits []float32, intended []int64, conf []float32) {
	r := rand.New(rand.NewSource(seed))
	logits, intended, conf = make([]float32, n*k), make([]int64, n), make([]float32, n)
	for i := 0; i < n; i++ {
		best := 0
		for j := 0; j < k; j++ {
			logits[i*k+j] = float32(3 * r.NormFloat64())
			if logits[i*k+j] > logits[i*k+best] {
				best = j
			}
		}
		intended[i] = int64(r.Intn(k))
		if r.Intn(3) > 0 {
			intended[i] = int64(best)
		}
		conf[i] = r.Float32()
	}
	special := func(i int, f func(row []float32)) {
		if i < n {
			f(logits[i*k : (i+1)*k])
		}
	}
	nan := float32(math.NaN())
	special(3, func(row []float32) { row[k-1] = nan })
	special(4, func(row []float32) { row[0] = float32(math.Inf(1)) })
	special(5, func(row []float32) { row[k/2] = float32(math.Inf(-1)) })
	if n > 7 {
		conf[6], conf[7] = nan, float32(math.Inf(1))
	}
	// Ties: the first of equal maxima is the argmax.
	special(8, func(row []float32) { row[0], row[2] = 50, 50; intended[8] = 2 })
	special(9, func(row []float32) { row[1], row[3] = 50, 50; intended[9] = 1 })
	return logits, intended, conf
}

// ---- tests ----

func TestOpsConditionNames(t *testing.T) {
	for i, c := range Conditions {
		if int(c) != i {
			t.Errorf("Conditions[%d] = %d", i, c)
		}
		got, err := ParseCondition(c.String())
		if err != nil || got != c {
			t.Errorf("ParseCondition(%q) = %v, %v", c.String(), got, err)
		}
	}
	if len(ConditionNames) != len(Conditions) {
		t.Errorf("ConditionNames has %d entries, Conditions %d", len(ConditionNames), len(Conditions))
	}
	if _, err := ParseCondition("fog"); err == nil || !strings.Contains(err.Error(), "fog") {
		t.Errorf("ParseCondition(fog): %v", err)
	}
}

func TestOpsConditionSeverityZeroIsIdentity(t *testing.T) {
	e := testEngine(t)
	const n, c, h, w = 3, 3, 17, 23
	img := testImages(n, c, h, w, 1)
	// Out-of-[0,1] pixels too: severity 0 must not even clamp.
	img[5], img[6] = -0.25, 1.5
	x := ok(e.FromF32(img, n, c, h, w))
	defer x.Close()
	sev := ok(e.FromF32(make([]float32, n), n))
	defer sev.Close()
	for _, cond := range Conditions {
		t.Run(cond.String(), func(t *testing.T) {
			y, err := e.Condition(x, cond, sev, 42)
			noErr(t, err)
			defer y.Close()
			got := f32s(t, y)
			for i := range img {
				if math.Float32bits(got[i]) != math.Float32bits(img[i]) {
					t.Fatalf("pixel %d: %v, want %v unchanged", i, got[i], img[i])
				}
			}
		})
	}
}

func TestOpsConditionMovesStatistic(t *testing.T) {
	e := testEngine(t)
	severities := []float32{0, 0.25, 0.5, 1}
	tests := []struct {
		desc string
		cond Condition
		stat int
		sign float32 // -1: the statistic falls with severity, +1: it rises
	}{
		{"blur lowers sharpness", CondBlur, StatSharpness, -1},
		{"shadow lowers brightness", CondShadow, StatBrightness, -1},
		{"low contrast lowers contrast", CondLowContrast, StatContrast, -1},
		{"noise raises the noise estimate", CondNoise, StatNoise, +1},
	}
	shapes := []struct {
		desc    string
		c, h, w int
	}{{"gray 28x28", 1, 28, 28}, {"rgb 32x40", 3, 32, 40}}
	for _, sh := range shapes {
		for _, tc := range tests {
			t.Run(tc.desc+"/"+sh.desc, func(t *testing.T) {
				// One base image repeated, one severity per copy: also checks per-image severity.
				base := testImages(1, sh.c, sh.h, sh.w, 7)
				var img []float32
				for range severities {
					img = append(img, base...)
				}
				n := int64(len(severities))
				x := ok(e.FromF32(img, n, int64(sh.c), int64(sh.h), int64(sh.w)))
				defer x.Close()
				sev := ok(e.FromF32(severities, n))
				defer sev.Close()
				y, err := e.Condition(x, tc.cond, sev, 3)
				noErr(t, err)
				defer y.Close()
				st := stats(t, e, y)
				for i := 1; i < len(st); i++ {
					prev, cur := st[i-1][tc.stat], st[i][tc.stat]
					if (cur-prev)*tc.sign <= 0 {
						t.Errorf("%s at severity %v = %v, at %v = %v: want it to move by sign %v",
							StatNames[tc.stat], severities[i-1], prev, severities[i], cur, tc.sign)
					}
				}
				t.Logf("%s over severities %v: %v %v %v %v", StatNames[tc.stat], severities,
					st[0][tc.stat], st[1][tc.stat], st[2][tc.stat], st[3][tc.stat])
			})
		}
	}
}

func TestOpsConditionMatchesReference(t *testing.T) {
	e := testEngine(t)
	const n, c, h, w = 5, 2, 13, 19
	img := testImages(n, c, h, w, 11)
	sevs := []float32{0, 0.1, 0.37, 0.8, 1}
	x := ok(e.FromF32(img, n, c, h, w))
	defer x.Close()
	sev := ok(e.FromF32(sevs, n))
	defer sev.Close()
	for _, cond := range Conditions {
		t.Run(cond.String(), func(t *testing.T) {
			y, err := e.Condition(x, cond, sev, 0xC0FFEE)
			noErr(t, err)
			defer y.Close()
			got, want := f32s(t, y), refCondition(img, n, c, h, w, cond, sevs, 0xC0FFEE)
			worst := 0.0
			for i := range want {
				worst = math.Max(worst, math.Abs(float64(got[i]-want[i])))
			}
			if worst > 2e-5 {
				t.Errorf("max abs difference from the Go reference %g", worst)
			}
		})
	}
}

func TestOpsConditionNoise(t *testing.T) {
	e := testEngine(t)
	const n, h, w = 4, 64, 64
	flat := make([]float32, n*h*w)
	for i := range flat {
		flat[i] = 0.5
	}
	x := ok(e.FromF32(flat, n, 1, h, w))
	defer x.Close()
	sevs := []float32{0.25, 0.5, 1, 0.5}
	sev := ok(e.FromF32(sevs, n))
	defer sev.Close()
	run := func(seed uint64) []float32 {
		y, err := e.Condition(x, CondNoise, sev, seed)
		noErr(t, err)
		defer y.Close()
		return f32s(t, y)
	}
	a, b, other := run(9), run(9), run(10)
	same, diffSeed := true, 0
	for i := range a {
		same = same && a[i] == b[i]
		if a[i] != other[i] {
			diffSeed++
		}
	}
	if !same {
		t.Error("the same seed gave different noise")
	}
	if diffSeed < len(a)*9/10 {
		t.Errorf("another seed changed only %d of %d pixels", diffSeed, len(a))
	}
	for i, s := range sevs {
		var sum, sum2 float64
		for _, v := range a[i*h*w : (i+1)*h*w] {
			d := float64(v) - 0.5
			sum += d
			sum2 += d * d
		}
		mean, sd := sum/(h*w), math.Sqrt(sum2/(h*w))
		if want := 0.2 * float64(s); math.Abs(sd-want) > 0.05*want || math.Abs(mean) > 0.05*want {
			t.Errorf("image %d (severity %v): noise mean %.4f sd %.4f, want 0 and %.4f", i, s, mean, sd, want)
		}
	}
	// Images 1 and 3 share a severity but not their noise.
	if a[1*h*w] == a[3*h*w] && a[1*h*w+1] == a[3*h*w+1] {
		t.Error("two images got the same noise")
	}
}

func TestOpsImageStatsMatchesReference(t *testing.T) {
	e := testEngine(t)
	tests := []struct {
		desc       string
		n, c, h, w int
	}{
		{"gray", 3, 1, 28, 28},
		{"rgb non-square", 2, 3, 9, 14},
		{"smallest with an interior", 1, 2, 3, 3},
		{"too small for the Laplacian", 2, 1, 2, 5},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			img := testImages(tc.n, tc.c, tc.h, tc.w, 5)
			x := ok(e.FromF32(img, int64(tc.n), int64(tc.c), int64(tc.h), int64(tc.w)))
			defer x.Close()
			got, want := stats(t, e, x), refStats(img, tc.n, tc.c, tc.h, tc.w)
			for i := range want {
				for k := 0; k < NumStats; k++ {
					g, w := float64(got[i][k]), want[i][k]
					if math.Abs(g-w) > 1e-5*math.Max(1e-3, math.Abs(w)) {
						t.Errorf("image %d %s = %v, want %v", i, StatNames[k], g, w)
					}
				}
			}
		})
	}
}

func TestOpsImageStatsKnownValues(t *testing.T) {
	e := testEngine(t)
	// A flat image: no sharpness, no contrast, no noise.
	flat := make([]float32, 16*16)
	for i := range flat {
		flat[i] = 0.25
	}
	x := ok(e.FromF32(flat, 1, 1, 16, 16))
	defer x.Close()
	st := stats(t, e, x)[0]
	if st != [NumStats]float32{0, 0.25, 0, 0} {
		t.Errorf("flat image stats %v, want [0 0.25 0 0]", st)
	}
	// Gaussian noise of sd 0.05 on a linear ramp: Immerkaer's estimate recovers the sd.
	r := rand.New(rand.NewSource(1))
	ramp := make([]float32, 128*128)
	for y := 0; y < 128; y++ {
		for xx := 0; xx < 128; xx++ {
			ramp[y*128+xx] = float32(0.2 + 0.4*float64(xx+y)/256 + 0.05*r.NormFloat64())
		}
	}
	xr := ok(e.FromF32(ramp, 1, 1, 128, 128))
	defer xr.Close()
	if got := stats(t, e, xr)[0][StatNoise]; math.Abs(float64(got)-0.05) > 0.005 {
		t.Errorf("noise estimate %v for sd 0.05", got)
	}
}

func TestOpsScreenMatchesReference(t *testing.T) {
	e := testEngine(t)
	const n, k = 400, 7
	logits, intended, conf := screenInputs(n, k, 3)
	lt := ok(e.FromF32(logits, n, k))
	defer lt.Close()
	it := ok(e.FromI64(intended, n))
	defer it.Close()
	ct := ok(e.FromF32(conf, n))
	defer ct.Close()
	tests := []struct {
		desc     string
		pt, ct   float32
		withConf bool
	}{
		{"no thresholds", 0, 0, true},
		{"moderate thresholds", 0.5, 0.3, true},
		{"strict thresholds", 0.9, 0.8, true},
		{"nothing passes a probability of 1.01", 1.01, 0, true},
		{"nil conf skips the confidence check", 0.5, 0.99, false},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			var c *Tensor
			var cv []float32
			if tc.withConf {
				c, cv = ct, conf
			}
			v, p, a, err := e.Screen(lt, it, c, tc.pt, tc.ct)
			noErr(t, err)
			defer CloseAll(v, p, a)
			wv, wp, wa := refScreen(logits, k, intended, cv, tc.pt, tc.ct)
			gv, gp, ga := i64s(t, v), f32s(t, p), i64s(t, a)
			counts := map[Verdict]int{}
			for i := range wv {
				counts[Verdict(gv[i])]++
				if Verdict(gv[i]) != wv[i] {
					t.Errorf("row %d: verdict %v, want %v (prob %v)", i, Verdict(gv[i]), wv[i], wp[i])
				}
				if math.Abs(float64(gp[i]-wp[i])) > 1e-6 {
					t.Errorf("row %d: prob %v, want %v", i, gp[i], wp[i])
				}
			}
			if fmt.Sprint(ga) != fmt.Sprint(wa) {
				t.Errorf("accepted %v, want %v", ga, wa)
			}
			t.Logf("verdicts %v", counts)
		})
	}
}

func TestOpsScreenEdgeRows(t *testing.T) {
	e := testEngine(t)
	const k = 7
	logits, intended, conf := screenInputs(10, k, 3)
	lt := ok(e.FromF32(logits, 10, k))
	it := ok(e.FromI64(intended, 10))
	ct := ok(e.FromF32(conf, 10))
	defer CloseAll(lt, it, ct)
	v, p, a, err := e.Screen(lt, it, ct, 0, 0)
	noErr(t, err)
	defer CloseAll(v, p, a)
	gv, gp := i64s(t, v), f32s(t, p)
	tests := []struct {
		desc string
		row  int
		want Verdict
	}{
		{"NaN logit", 3, VerdictNaN},
		{"+Inf logit", 4, VerdictNaN},
		{"-Inf logit", 5, VerdictNaN},
		{"NaN confidence", 6, VerdictNaN},
		{"+Inf confidence", 7, VerdictNaN},
		{"intended tied with an earlier class", 8, VerdictLabel},
		{"intended is the first of the tied", 9, VerdictAccept},
	}
	for _, tc := range tests {
		if Verdict(gv[tc.row]) != tc.want {
			t.Errorf("%s: verdict %v, want %v", tc.desc, Verdict(gv[tc.row]), tc.want)
		}
	}
	for _, row := range []int{3, 4, 5} {
		if gp[row] != 0 {
			t.Errorf("row %d with a non-finite logit: prob %v, want 0", row, gp[row])
		}
	}
	if math.Abs(float64(gp[9])-0.5) > 1e-6 {
		t.Errorf("two tied logits far above the rest: prob %v, want 0.5", gp[9])
	}
}

func TestOpsBadInputs(t *testing.T) {
	e := testEngine(t)
	img := ok(e.FromF32(testImages(2, 1, 6, 6, 1), 2, 1, 6, 6))
	rank3 := ok(e.FromF32(make([]float32, 2*6*6), 2, 6, 6))
	labels := ok(e.FromI64([]int64{0, 1}, 2))
	images64 := ok(e.FromI64(make([]int64, 2*36), 2, 1, 6, 6))
	sev2 := ok(e.FromF32([]float32{0.5, 0.5}, 2))
	sev3 := ok(e.FromF32([]float32{0.5, 0.5, 0.5}, 3))
	sevRank2 := ok(e.FromF32([]float32{0.5, 0.5}, 2, 1))
	sevHigh := ok(e.FromF32([]float32{0.5, 1.5}, 2))
	sevNaN := ok(e.FromF32([]float32{float32(math.NaN()), 0}, 2))
	logits := ok(e.FromF32(make([]float32, 2*4), 2, 4))
	logits1 := ok(e.FromF32(make([]float32, 4), 4))
	logitsNoClass, noClassErr := e.FromF32(nil, 2, 0) // an engine may refuse empty tensors
	conf3 := ok(e.FromF32([]float32{1, 1, 1}, 3))
	conf2x1 := ok(e.FromF32([]float32{1, 1}, 2, 1))
	labels3 := ok(e.FromI64([]int64{0, 1, 2}, 3))
	labelsBad := ok(e.FromI64([]int64{0, 4}, 2))
	labelsNeg := ok(e.FromI64([]int64{-1, 0}, 2))
	defer CloseAll(img, rank3, labels, images64, sev2, sev3, sevRank2, sevHigh, sevNaN, logits, logits1,
		logitsNoClass, conf3, conf2x1, labels3, labelsBad, labelsNeg)

	cond := func(x *Tensor, c Condition, s *Tensor) func() error {
		return func() error {
			y, err := e.Condition(x, c, s, 0)
			y.Close()
			return err
		}
	}
	stat := func(x *Tensor) func() error {
		return func() error {
			y, err := e.ImageStats(x)
			y.Close()
			return err
		}
	}
	screen := func(l, i, c *Tensor, pt float32) func() error {
		return func() error {
			v, p, a, err := e.Screen(l, i, c, pt, 0)
			CloseAll(v, p, a)
			return err
		}
	}
	tests := []struct {
		desc string
		call func() error
		want string // the engine's message must contain this
	}{
		{"condition: x of rank 3", cond(rank3, CondBlur, sev2), "x must have shape [N,C,H,W]"},
		{"condition: x of int64", cond(images64, CondBlur, sev2), "x must be float32"},
		{"condition: x missing", cond(nil, CondBlur, sev2), "x is NULL"},
		{"condition: unknown id", cond(img, Condition(7), sev2), "condition 7 is unknown"},
		{"condition: negative id", cond(img, Condition(-1), sev2), "condition -1 is unknown"},
		{"condition: severity missing", cond(img, CondNoise, nil), "severity is NULL"},
		{"condition: severity for 3 images, x has 2", cond(img, CondBlur, sev3), "severity has 3 rows, x has 2"},
		{"condition: severity of rank 2", cond(img, CondBlur, sevRank2), "severity must have shape [N]"},
		{"condition: severity int64", cond(img, CondBlur, labels), "severity must be float32"},
		{"condition: severity above 1", cond(img, CondShadow, sevHigh), "severity[1] = 1.5 is outside [0, 1]"},
		{"condition: severity NaN", cond(img, CondShadow, sevNaN), "severity[0]"},
		{"image stats: x of rank 3", stat(rank3), "x must have shape [N,C,H,W]"},
		{"image stats: x of int64", stat(images64), "x must be float32"},
		{"image stats: x missing", stat(nil), "x is NULL"},
		{"screen: logits of rank 1", screen(logits1, labels, nil, 0), "logits must have shape [N,K]"},
		{"screen: logits int64", screen(labels3, labels, nil, 0), "logits must be float32"},
		{"screen: logits missing", screen(nil, labels, nil, 0), "logits is NULL"},
		{"screen: intended float32", screen(logits, sev2, nil, 0), "intended must be int64"},
		{"screen: intended for 3 rows, logits has 2", screen(logits, labels3, nil, 0), "intended has 3 rows, logits has 2"},
		{"screen: intended missing", screen(logits, nil, nil, 0), "intended is NULL"},
		{"screen: intended past the classes", screen(logits, labelsBad, nil, 0), "intended[1] = 4 is outside [0, 4)"},
		{"screen: intended negative", screen(logits, labelsNeg, nil, 0), "intended[0] = -1 is outside [0, 4)"},
		{"screen: conf int64", screen(logits, labels, labels, 0), "conf must be float32"},
		{"screen: conf for 3 rows, logits has 2", screen(logits, labels, conf3, 0), "conf has 3 rows, logits has 2"},
		{"screen: conf of rank 2", screen(logits, labels, conf2x1, 0), "conf must have shape [N]"},
		{"screen: NaN threshold", screen(logits, labels, nil, float32(math.NaN())), "prob_threshold is NaN"},
	}
	if noClassErr == nil {
		tests = append(tests, struct {
			desc string
			call func() error
			want string
		}{"screen: logits with no class", screen(logitsNoClass, labels, nil, 0), "logits must have at least one class"})
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			err := tc.call()
			if err == nil {
				t.Fatalf("no error, want one containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want it to contain %q", err, tc.want)
			}
			var ee *Error
			if errors.As(err, &ee) && ee.Code != StatusInvalid {
				t.Errorf("status %d, want %d (invalid)", ee.Code, StatusInvalid)
			}
		})
	}
}

func TestOpsEmptyBatch(t *testing.T) {
	e := testEngine(t)
	x, err := e.FromF32(nil, 0, 1, 4, 4)
	if err != nil {
		t.Skipf("engine makes no empty tensors: %v", err)
	}
	defer x.Close()
	sev := ok(e.FromF32(nil, 0))
	defer sev.Close()
	for _, c := range Conditions {
		y, err := e.Condition(x, c, sev, 1)
		noErr(t, err)
		if s := ok(y.Shape()); fmt.Sprint(s) != "[0 1 4 4]" {
			t.Errorf("%v of an empty batch: shape %v", c, s)
		}
		y.Close()
	}
	s, err := e.ImageStats(x)
	noErr(t, err)
	if sh := ok(s.Shape()); fmt.Sprint(sh) != "[0 4]" {
		t.Errorf("stats of an empty batch: shape %v", sh)
	}
	s.Close()
	l := ok(e.FromF32(nil, 0, 5))
	it := ok(e.FromI64(nil, 0))
	defer CloseAll(l, it)
	v, p, a, err := e.Screen(l, it, nil, 0.5, 0.5)
	noErr(t, err)
	defer CloseAll(v, p, a)
	if v.Len() != 0 || p.Len() != 0 || a.Len() != 0 {
		t.Errorf("screen of no rows: %d %d %d", v.Len(), p.Len(), a.Len())
	}
}

// TestOpsCUDAMatchesCPU is the GPU check of the custom kernels: every op on random inputs on
// the CPU and on "cuda", every output compared, the largest errors printed. It skips where the
// engine has no CUDA device or was built without the kernels.
func TestOpsCUDAMatchesCPU(t *testing.T) {
	e := testEngine(t)
	info, err := e.Info()
	noErr(t, err)
	if !info.CUDAAvailable {
		t.Skip("no CUDA device")
	}
	if !info.CUDABuilt {
		t.Skip("engine built without the CUDA kernels (GAM_CUDA=OFF)")
	}
	defer func() { noErr(t, e.SetDevice(info.Device)) }()

	r := rand.New(rand.NewSource(1))
	const n, c, h, w = 64, 3, 32, 48
	img := testImages(n, c, h, w, 2)
	for i := range img[:len(img)/2] {
		img[i] = r.Float32() // half the batch plain uniform noise
	}
	sevs := make([]float32, n)
	for i := range sevs {
		if i%5 != 0 {
			sevs[i] = r.Float32()
		}
	}
	big := testImages(3, 1, 224, 224, 3)
	bigSev := []float32{0.3, 0.7, 1}
	logits, intended, conf := screenInputs(20000, 10, 4)

	type result struct {
		name string
		f32  []float32
		i64  []int64
	}
	runAll := func(dev string) []result {
		noErr(t, e.SetDevice(dev))
		var out []result
		add := func(name string, x *Tensor, err error) {
			noErr(t, err)
			defer x.Close()
			if name == "screen verdict" || name == "screen accepted" {
				out = append(out, result{name: name, i64: i64s(t, x)})
			} else {
				out = append(out, result{name: name, f32: f32s(t, x)})
			}
		}
		x := ok(e.FromF32(img, n, c, h, w))
		sv := ok(e.FromF32(sevs, n))
		xb := ok(e.FromF32(big, 3, 1, 224, 224))
		sb := ok(e.FromF32(bigSev, 3))
		defer CloseAll(x, sv, xb, sb)
		for _, cd := range Conditions {
			y, err := e.Condition(x, cd, sv, 77)
			add("condition "+cd.String(), y, err)
			y, err = e.Condition(xb, cd, sb, 78)
			add("condition "+cd.String()+" 224x224", y, err)
		}
		st, err := e.ImageStats(x)
		add("image stats", st, err)
		st, err = e.ImageStats(xb)
		add("image stats 224x224", st, err)
		lt := ok(e.FromF32(logits, int64(len(intended)), 10))
		it := ok(e.FromI64(intended, int64(len(intended))))
		ct := ok(e.FromF32(conf, int64(len(intended))))
		defer CloseAll(lt, it, ct)
		for _, withConf := range []bool{true, false} {
			var cc *Tensor
			if withConf {
				cc = ct
			}
			v, p, a, err := e.Screen(lt, it, cc, 0.6, 0.4)
			noErr(t, err)
			add("screen verdict", v, nil)
			add("screen prob", p, nil)
			add("screen accepted", a, nil)
		}
		return out
	}
	cpu, gpu := runAll("cpu"), runAll("cuda")
	for i := range cpu {
		a, b := gpu[i], cpu[i]
		if a.i64 != nil || b.i64 != nil {
			mism := 0
			if len(a.i64) != len(b.i64) {
				t.Errorf("%s: %d values on cuda, %d on cpu", b.name, len(a.i64), len(b.i64))
				continue
			}
			for j := range a.i64 {
				if a.i64[j] != b.i64[j] {
					mism++
				}
			}
			t.Logf("%-32s n=%-8d mismatches %d", b.name, len(b.i64), mism)
			if mism > 0 {
				t.Errorf("%s: %d of %d differ between cuda and cpu", b.name, mism, len(b.i64))
			}
			continue
		}
		var maxAbs, maxRel float64
		for j := range b.f32 {
			d := math.Abs(float64(a.f32[j]) - float64(b.f32[j]))
			maxAbs = math.Max(maxAbs, d)
			maxRel = math.Max(maxRel, d/math.Max(math.Abs(float64(b.f32[j])), 1e-3))
		}
		t.Logf("%-32s n=%-8d max abs err %.3g  max rel err %.3g", b.name, len(b.f32), maxAbs, maxRel)
		if maxRel > 1e-4 {
			t.Errorf("%s: cuda and cpu differ by up to %.3g (relative)", b.name, maxRel)
		}
	}
}

// Benchmarks of the native ops on a batch of 512 Fashion-MNIST-sized images (and 512 rows of 10
// logits), on the engine's current device; b.N batches, images per second reported.
func BenchmarkOps(b *testing.B) {
	e := testEngine(b)
	const n = 512
	x := ok(e.FromF32(testImages(n, 1, 28, 28, 1), n, 1, 28, 28))
	sevs := make([]float32, n)
	for i := range sevs {
		sevs[i] = float32(i%100) / 100
	}
	sv := ok(e.FromF32(sevs, n))
	logits, intended, conf := screenInputs(n, 10, 1)
	lt := ok(e.FromF32(logits, n, 10))
	it := ok(e.FromI64(intended, n))
	ct := ok(e.FromF32(conf, n))
	defer CloseAll(x, sv, lt, it, ct)
	report := func(b *testing.B) { b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "images/s") }
	for _, c := range Conditions {
		b.Run("condition/"+c.String(), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				y, err := e.Condition(x, c, sv, uint64(i))
				if err != nil {
					b.Fatal(err)
				}
				y.Close()
			}
			report(b)
		})
	}
	b.Run("image_stats", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			y, err := e.ImageStats(x)
			if err != nil {
				b.Fatal(err)
			}
			y.Close()
		}
		report(b)
	})
	b.Run("screen", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			v, p, a, err := e.Screen(lt, it, ct, 0.5, 0.5)
			if err != nil {
				b.Fatal(err)
			}
			CloseAll(v, p, a)
		}
		report(b)
	})
}

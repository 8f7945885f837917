package bench

import (
	"fmt"
	"path/filepath"

	"github.com/gam-native/gam-native/bindings"
	"github.com/gam-native/gam-native/hostres"
)

// batchInputs are one batch size's fixed inputs of the stage benchmarks.
type batchInputs struct {
	n                      int
	z, y, a, x, logits, cf *bindings.Tensor
	sev                    *bindings.Tensor
}

func (b *batchInputs) close() { bindings.CloseAll(b.z, b.y, b.a, b.x, b.logits, b.cf, b.sev) }

func (s *suite) batch(n int) (*batchInputs, error) {
	if b, ok := s.inputs[n]; ok {
		return b, nil
	}
	e, g := s.e, s.gen
	b := &batchInputs{n: n}
	var err error
	fail := func(err error) (*batchInputs, error) { b.close(); return nil, err }
	if b.z, err = e.Randn(1, uint64(n), int64(n), int64(g.Meta.LatentDim)); err != nil {
		return fail(err)
	}
	ys := make([]int64, n)
	for i := range ys {
		ys[i] = int64(i % g.Meta.NumClasses)
	}
	if b.y, err = e.FromI64(ys, int64(n)); err != nil {
		return fail(err)
	}
	if na := len(g.Meta.AttrNames); na > 0 {
		if b.a, err = e.FromF32(make([]float32, n*na), int64(n), int64(na)); err != nil {
			return fail(err)
		}
	}
	if b.x, err = g.Sample(b.z, b.y, b.a); err != nil {
		return fail(err)
	}
	if b.logits, err = s.screen.Forward(b.x); err != nil {
		return fail(err)
	}
	if b.cf, err = g.Confidence(b.x, b.y, b.a); err != nil {
		return fail(err)
	}
	sev := make([]float32, n)
	for i := range sev {
		sev[i] = 0.5 + 0.5*float32(i)/float32(n)
	}
	if b.sev, err = e.FromF32(sev, int64(n)); err != nil {
		return fail(err)
	}
	s.inputs[n] = b
	return b, nil
}

// measure runs op at batch n and records a figure with its memory peaks. op returns the tensor
// it made (closed here; on a GPU the last one is copied out so that queued work is timed).
func (s *suite) measure(name string, n int, unit string, op func() (*bindings.Tensor, error)) (*Figure, error) {
	call, sync, done := s.timedOp(op)
	defer done()
	return s.measureFn(name, n, unit, call, sync)
}

// timedOp wraps op for rate: call runs it and closes the tensor it made, except on a GPU, where
// it keeps the last one so that sync can wait for the queued work by copying it out; done closes
// what is left.
func (s *suite) timedOp(op func() (*bindings.Tensor, error)) (call, sync func() error, done func()) {
	var last *bindings.Tensor
	call = func() error {
		t, err := op()
		if err != nil {
			return err
		}
		if s.gpu {
			last.Close()
			last = t
			return nil
		}
		t.Close()
		return nil
	}
	sync = func() error {
		if last == nil {
			return nil
		}
		_, err := last.F32()
		last.Close()
		last = nil
		return err
	}
	return call, sync, func() { last.Close() }
}

// measureFn is measure for an op with no tensor result; sync (may be nil) waits for queued work.
func (s *suite) measureFn(name string, n int, unit string, call func() error, sync func() error) (*Figure, error) {
	hostres.ResetPeakRSS()
	if s.gpu {
		_, _, _ = s.e.Memory(true)
	}
	st, err := rate(n, s.o.Warmup, s.o.Repeat, s.o.MinTime, call, sync)
	if err != nil {
		return nil, err
	}
	return s.finish(name, n, unit, st), nil
}

func (s *suite) finish(name string, n int, unit string, st Stats) *Figure {
	f := Figure{Name: name, Batch: n, Unit: unit, Stats: st, PeakRSS: hostres.PeakRSS()}
	if s.gpu {
		_, f.GPUPeak, _ = s.e.Memory(false)
		f.NVMLUsed = nvmlUsed()
	}
	s.res.add(f)
	s.o.Logf("bench: %-28s batch %5d  %10.1f %s  (%.1f..%.1f)", name, n, st.Median, unit, st.Min, st.Max)
	return &s.res.Figures[len(s.res.Figures)-1]
}

// stage measures one engine stage at every batch size, in images per second.
func (s *suite) stage(name string) error {
	for _, n := range s.o.Batches {
		b, err := s.batch(n)
		if err != nil {
			return err
		}
		e, g := s.e, s.gen
		switch name {
		case "sample":
			_, err = s.measure(name, n, "images/s", func() (*bindings.Tensor, error) { return g.Sample(b.z, b.y, b.a) })
		case "confidence":
			_, err = s.measure(name, n, "images/s", func() (*bindings.Tensor, error) { return g.Confidence(b.x, b.y, b.a) })
		case "screen_forward":
			_, err = s.measure(name, n, "images/s", func() (*bindings.Tensor, error) { return s.screen.Forward(b.x) })
		case "fused_screen":
			_, err = s.measure(name, n, "images/s", func() (*bindings.Tensor, error) {
				v, p, a, err := e.Screen(b.logits, b.y, b.cf, s.probThr, 0)
				if err != nil {
					return nil, err
				}
				bindings.CloseAll(v, p)
				return a, nil
			})
		case "image_stats":
			_, err = s.measure(name, n, "images/s", func() (*bindings.Tensor, error) { return e.ImageStats(b.x) })
		case "conditions":
			for i, c := range bindings.Conditions {
				if _, err = s.measure("conditions/"+c.String(), n, "images/s", func() (*bindings.Tensor, error) {
					return e.Condition(b.x, c, b.sev, uint64(i))
				}); err != nil {
					break
				}
			}
		default:
			return fmt.Errorf("no stage %q", name)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// trainStep measures one optimizer step of a fresh zoo model on random images, in images per
// second (weights change as it runs; the rate does not depend on them).
func (s *suite) trainStep(name string) error {
	file, role := map[string]string{"train_vae_step": "cvae.pt", "train_gan_step": "cgan.pt", "train_classifier_step": "cnn.pt"}[name], bindings.RoleGenerator
	if name == "train_classifier_step" {
		role = bindings.RoleClassifier
	}
	m, err := s.e.LoadModel(filepath.Join(s.zoo, file), role)
	if err != nil {
		return err
	}
	defer m.Close()
	tr, err := m.NewTrainer(1e-3, 1e-3)
	if err != nil {
		return err
	}
	defer tr.Close()
	if err := m.SetTrain(true); err != nil {
		return err
	}
	for _, n := range s.o.Batches {
		b, err := s.batch(n)
		if err != nil {
			return err
		}
		var z *bindings.Tensor
		if name == "train_gan_step" {
			if z, err = s.e.Randn(1, 7, int64(n), int64(m.Meta.LatentDim)); err != nil {
				return err
			}
		}
		var call func() error
		switch name {
		case "train_vae_step":
			call = func() error { _, err := tr.StepVAE(b.x, b.y, b.a); return err }
		case "train_gan_step":
			call = func() error { _, _, err := tr.StepGAN(b.x, z, b.y, b.a); return err }
		default:
			call = func() error { _, err := tr.StepClassifier(b.x, b.y, nil, nil); return err }
		}
		// A step returns its loss to Go, which waits for the device: no extra sync needed.
		_, err = s.measureFn(name, n, "images/s", call, nil)
		z.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

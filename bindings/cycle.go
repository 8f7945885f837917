package bindings

// Cycle loads the generator at path, samples n images from it (once on the engine thread, once on
// its worker thread) and closes everything: one round of the soak that looks for leaks across the boundary.
func (e *Engine) Cycle(path string, n int, seed uint64) error {
	g, err := e.LoadModel(path, RoleGenerator)
	if err != nil {
		return err
	}
	defer g.Close()
	z, err := e.Randn(1, seed, int64(n), int64(g.Meta.LatentDim))
	if err != nil {
		return err
	}
	defer z.Close()
	ys := make([]int64, n)
	y, err := e.FromI64(ys, int64(n))
	if err != nil {
		return err
	}
	defer y.Close()
	x, err := g.Sample(z, y, nil)
	if err != nil {
		return err
	}
	defer x.Close()
	if _, err = x.F32(); err != nil {
		return err
	}
	// The pipeline's path too: a sample on the engine's worker thread, waited for here.
	f, err := g.SampleAsync(z, y, nil)
	if err != nil {
		return err
	}
	xa, err := f.Wait()
	if err != nil {
		return err
	}
	xa.Close()
	return nil
}

package data

import "testing"

// BenchmarkReadFashionMNIST reads all 70k images (train and test, gzipped
// IDX) into float32 NCHW, as a run does at its start.
func BenchmarkReadFashionMNIST(b *testing.B) {
	dir := fashionDir(b)
	for _, bc := range []struct {
		desc string
		load func() (int, error)
	}{
		{"splits-concurrently", func() (int, error) {
			train, test, err := LoadFashionMNISTSplits(dir)
			if err != nil {
				return 0, err
			}
			return train.Len() + test.Len(), nil
		}},
		{"train-then-test", func() (int, error) {
			n := 0
			for _, split := range []string{"train", "test"} {
				ds, err := LoadFashionMNIST(dir, split)
				if err != nil {
					return 0, err
				}
				n += ds.Len()
			}
			return n, nil
		}},
	} {
		b.Run(bc.desc, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if n, err := bc.load(); err != nil || n != 70000 {
					b.Fatalf("%d images, %v", n, err)
				}
			}
		})
	}
}

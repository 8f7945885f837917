package bindings

import (
	"math"
	"testing"
)

// TestOpsConditionsOnRGB: the native conditions treat an RGB image channel by channel. On an image
// whose channels are each one colour, blur leaves every channel its colour (no channel leaks into
// another), a shadow darkens the three channels of a pixel by one factor (the hue stays), noise
// draws each channel's values apart, and low_contrast pulls every value towards the image's mean
// over all channels (a haze: less contrast and less saturation, as torchvision's adjust_contrast).
func TestOpsConditionsOnRGB(t *testing.T) {
	e := testEngine(t)
	const n, c, h, w = 1, 3, 16, 16
	colour := [3]float32{0.9, 0.4, 0.1}
	img := make([]float32, n*c*h*w)
	for k := range c {
		for i := range h * w {
			img[k*h*w+i] = colour[k]
		}
	}
	x := ok(e.FromF32(img, n, c, h, w))
	defer x.Close()
	plane := h * w
	for _, tc := range []struct {
		cond  string
		check func(t *testing.T, y []float32)
	}{
		{"blur", func(t *testing.T, y []float32) {
			for k := range c {
				for i := range plane {
					if math.Abs(float64(y[k*plane+i]-colour[k])) > 1e-5 {
						t.Fatalf("channel %d pixel %d = %v, want %v", k, i, y[k*plane+i], colour[k])
					}
				}
			}
		}},
		{"shadow", func(t *testing.T, y []float32) {
			darker := 0
			for i := range plane {
				f := y[i] / colour[0]
				for k := 1; k < c; k++ {
					if math.Abs(float64(y[k*plane+i]/colour[k]-f)) > 1e-5 {
						t.Fatalf("pixel %d: channel %d darkened by %v, channel 0 by %v", i, k, y[k*plane+i]/colour[k], f)
					}
				}
				if f < 0.99 {
					darker++
				}
			}
			if darker == 0 {
				t.Fatal("no pixel darkened")
			}
		}},
		{"noise", func(t *testing.T, y []float32) {
			same := 0
			for i := range plane {
				if y[i]-colour[0] == y[plane+i]-colour[1] {
					same++
				}
			}
			if same > plane/4 {
				t.Fatalf("%d of %d pixels got the same noise in two channels", same, plane)
			}
		}},
		{"low_contrast", func(t *testing.T, y []float32) {
			mean := (colour[0] + colour[1] + colour[2]) / 3
			for k := range c {
				if d0, d1 := math.Abs(float64(colour[k]-mean)), math.Abs(float64(y[k*plane]-mean)); d1 >= d0 || (y[k*plane]-mean)*(colour[k]-mean) < 0 {
					t.Fatalf("channel %d: %v -> %v, not towards the mean %v", k, colour[k], y[k*plane], mean)
				}
			}
		}},
	} {
		t.Run(tc.cond, func(t *testing.T) {
			y, err := e.ConditionNamed(x, tc.cond, []float32{0.8}, 7)
			noErr(t, err)
			defer y.Close()
			tc.check(t, f32s(t, y))
		})
	}
}

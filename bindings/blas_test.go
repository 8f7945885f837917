package bindings

import (
	"os"
	"testing"
)

func TestBLASCoreType(t *testing.T) {
	avx512 := x86Features{AVX2: true, FMA: true, AVX512F: true, AVX512CD: true, AVX512BW: true, AVX512DQ: true, AVX512VL: true}
	partial := avx512
	partial.AVX512VL = false // AVX-512 without VL (Knights Landing has F and CD only): not SkylakeX
	for _, c := range []struct {
		f    x86Features
		want string
	}{
		{avx512, "SkylakeX"},
		{partial, "Haswell"},
		{x86Features{AVX2: true, FMA: true}, "Haswell"},
		{x86Features{AVX2: true}, ""},
		{x86Features{}, ""},
	} {
		if got := blasCoreType(c.f); got != c.want {
			t.Errorf("blasCoreType(%+v) = %q, want %q", c.f, got, c.want)
		}
	}
}

// TestOpenSetsTheBLASCore: with the engine open, OpenBLAS runs the kernels chooseBLASCore set
// from this CPU's features (Debian's LibTorch uses OpenBLAS), unless the user chose a core.
func TestOpenSetsTheBLASCore(t *testing.T) {
	e := testEngine(t)
	info, err := e.Info()
	if err != nil {
		t.Fatal(err)
	}
	if info.BLASCore == "" {
		t.Skip("this LibTorch does not use OpenBLAS")
	}
	f, ok := hostX86()
	want := blasCoreType(f)
	if !ok || want == "" {
		t.Skipf("no AVX2 here: OpenBLAS keeps its own choice (%s)", info.BLASCore)
	}
	switch got := os.Getenv("OPENBLAS_CORETYPE"); {
	case got == "":
		t.Fatalf("Open left OPENBLAS_CORETYPE unset on a CPU whose features ask for %q", want)
	case got != want:
		t.Skipf("OPENBLAS_CORETYPE=%q was set by the user", got)
	}
	if info.BLASCore != want {
		t.Errorf("OpenBLAS runs %q kernels, want %q (OPENBLAS_CORETYPE=%s)", info.BLASCore, want, os.Getenv("OPENBLAS_CORETYPE"))
	}
}

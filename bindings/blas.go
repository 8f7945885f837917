package bindings

import (
	"os"
	"runtime"

	"golang.org/x/sys/cpu"
)

// x86Features are the CPU features that decide OpenBLAS's matrix-product kernels.
type x86Features struct {
	AVX2, FMA                             bool
	AVX512F, AVX512CD, AVX512BW, AVX512DQ bool
	AVX512VL                              bool
}

func hostX86() (x86Features, bool) {
	if runtime.GOARCH != "amd64" {
		return x86Features{}, false
	}
	x := cpu.X86
	return x86Features{AVX2: x.HasAVX2, FMA: x.HasFMA, AVX512F: x.HasAVX512F, AVX512CD: x.HasAVX512CD,
		AVX512BW: x.HasAVX512BW, AVX512DQ: x.HasAVX512DQ, AVX512VL: x.HasAVX512VL}, true
}

// blasCoreType is the OpenBLAS core whose kernels fit CPU features f: "SkylakeX" with AVX-512
// (F, CD, BW, DQ, VL), "Haswell" with AVX2 and FMA, else "" (leave OpenBLAS to its own choice).
func blasCoreType(f x86Features) string {
	switch {
	case f.AVX512F && f.AVX512CD && f.AVX512BW && f.AVX512DQ && f.AVX512VL:
		return "SkylakeX"
	case f.AVX2 && f.FMA:
		return "Haswell"
	}
	return ""
}

// chooseBLASCore sets OPENBLAS_CORETYPE from the CPU's features unless the user set it. Debian's LibTorch does its matrix products with OpenBLAS,
// which picks kernels from the CPU's model number; OpenBLAS 0.3.21 does not know recent Xeons
// (this project's machines) and falls back to Prescott's SSE3 kernels, which made every forward
// call about half as fast as the AVX-512 ones on the same CPU (docs/performance.md, "OpenBLAS kernels chosen from the CPU's features"). OpenBLAS reads the
// variable when it loads, so this runs before dlopen. LibTorch builds on MKL ignore it.
func chooseBLASCore() {
	if _, set := os.LookupEnv("OPENBLAS_CORETYPE"); set {
		return
	}
	if f, ok := hostX86(); ok {
		if core := blasCoreType(f); core != "" {
			os.Setenv("OPENBLAS_CORETYPE", core)
		}
	}
}

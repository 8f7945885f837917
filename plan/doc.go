// Package plan is the control loop's "brain": it turns a classifier's validation predictions (or an
// external service's precomputed metrics) into per-class and per-segment metrics, difficulty scores,
// generation targets and a budget split over them; it updates that split from the measured result of
// a round; and it sizes batches from the GPU's (or the host's) free memory, read through its Memory
// interface (package hostres reads NVML and the host).
//
// It is pure Go (it builds with CGO_ENABLED=0), imports no other package of gam-native, and is
// tested without LibTorch. The formulas are documented in
// docs/planning.md and the input format in docs/metrics-format.md.
package plan

// Package plan is the control loop's "brain": it turns a classifier's validation predictions (or an
// external service's precomputed metrics) into per-class and per-segment metrics, difficulty scores,
// generation targets and a budget split over them; it updates that split from the measured result of
// a round; and it sizes batches from the GPU's (or the host's) free memory.
//
// It is pure Go apart from go-nvml (which dlopens libnvidia-ml at run time and needs no GPU to build),
// never imports the engine bindings, and is tested without LibTorch. The formulas are documented in
// docs/planning.md and the input format in docs/metrics-format.md.
package plan

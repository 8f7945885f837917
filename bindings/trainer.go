package bindings

/*
#include "gam_dl.h"
*/
import "C"

// Trainer holds the optimizer state for one model (two optimizers for a GAN).
type Trainer struct {
	m *Model
	h *C.gam_trainer
}

// NewTrainer makes Adam optimizers over m's parameters (lrD is the GAN discriminator's rate).
func (m *Model) NewTrainer(lr, lrD float32) (*Trainer, error) {
	var h *C.gam_trainer
	if err := m.e.call("trainer create", func() C.int32_t { return C.gamdl_gam_trainer_create(m.h, C.float(lr), C.float(lrD), &h) }); err != nil {
		return nil, err
	}
	live.Add(1)
	return &Trainer{m: m, h: h}, nil
}

// Close frees the optimizer state. Idempotent.
func (t *Trainer) Close() {
	if t == nil || t.h == nil {
		return
	}
	h := t.h
	t.h = nil
	live.Add(-1)
	_ = t.m.e.do(func() { C.gamdl_gam_trainer_destroy(h) })
}

// SetLR sets the learning rate (and a GAN discriminator's, lrD) for the steps that follow.
func (t *Trainer) SetLR(lr, lrD float32) error {
	return t.m.e.call("trainer set lr", func() C.int32_t { return C.gamdl_gam_trainer_set_lr(t.h, C.float(lr), C.float(lrD)) })
}

// StepClassifierSoft takes one step of soft-target cross-entropy: targets [N, K] class
// probabilities per row, logitBias [K] added to the logits inside the loss only (balanced
// softmax), sampleWeights [N]; logitBias and sampleWeights may be nil.
func (t *Trainer) StepClassifierSoft(x, targets, logitBias, sampleWeights *Tensor) (float32, error) {
	var l C.float
	err := t.m.e.call("classifier step", func() C.int32_t {
		return C.gamdl_gam_trainer_step_classifier_soft(t.h, x.ptr(), targets.ptr(), logitBias.ptr(), sampleWeights.ptr(), &l)
	})
	return float32(l), err
}

// StepVAE takes one step on the mean of loss(x, y, attrs) and returns that mean.
func (t *Trainer) StepVAE(x, y, attrs *Tensor) (float32, error) {
	var l C.float
	err := t.m.e.call("vae step", func() C.int32_t { return C.gamdl_gam_trainer_step_vae(t.h, x.ptr(), y.ptr(), attrs.ptr(), &l) })
	return float32(l), err
}

// StepGAN takes one discriminator and one generator step.
func (t *Trainer) StepGAN(x, z, y, attrs *Tensor) (dLoss, gLoss float32, err error) {
	var d, g C.float
	err = t.m.e.call("gan step", func() C.int32_t {
		return C.gamdl_gam_trainer_step_gan(t.h, x.ptr(), z.ptr(), y.ptr(), attrs.ptr(), &d, &g)
	})
	return float32(d), float32(g), err
}

// StepClassifier takes one weighted cross-entropy step; classWeights and sampleWeights may be nil.
func (t *Trainer) StepClassifier(x, y, classWeights, sampleWeights *Tensor) (float32, error) {
	var l C.float
	err := t.m.e.call("classifier step", func() C.int32_t {
		return C.gamdl_gam_trainer_step_classifier(t.h, x.ptr(), y.ptr(), classWeights.ptr(), sampleWeights.ptr(), &l)
	})
	return float32(l), err
}

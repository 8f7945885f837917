// Package stageseed derives each stage's seed from a job's seed. The closed loop (package loop)
// and the efficacy benchmark's baselines both train through it, so that GAM's round 0 is trained
// exactly like the oversampling baseline and both use the same generator and screen: the
// comparison depends on the two deriving the same seeds.
package stageseed

// Stage names what a seed is for.
type Stage uint64

const (
	Generator  Stage = 1 // training the generator (loop setup; efficacy's shared generator)
	Screen     Stage = 2 // training the screen
	Target     Stage = 3 // training the target classifier (every round; every classifier baseline)
	Untargeted Stage = 4 // efficacy: the untargeted generation baseline's draws
	CondAug    Stage = 5 // efficacy: the static condition augmentation's degradations
	Quality    Stage = 6 // efficacy: the generator quality check's draws
)

// For is stage's seed under a job's seed. The values are fixed (TestForIsPinned): changing them
// changes every trained model and every efficacy figure.
func For(seed uint64, stage Stage) uint64 { return seed*7 + uint64(stage) }

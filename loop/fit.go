package loop

import (
	"strconv"
	"strings"

	"github.com/gam-native/gam-native/hostres"
	"github.com/gam-native/gam-native/plan"
)

// checkBatchesFit refuses, before anything is written, a job's explicit batch size that cannot fit
// in the memory of where its stage runs (plan.CheckFits: the bytes it would need, the largest
// batch that fits). Left-out sizes are the memory budget's to choose and are not checked here.
// shapes holds each model's image shape by its models.* key.
func (j *Job) checkBatchesFit(shapes map[string][3]int) error {
	for _, c := range []struct {
		key, model  string
		batch, maps int
	}{
		{"generator_training.batch_size", "models.generator", j.GeneratorTraining.BatchSize, plan.TrainMapsPerSample},
		{"screen_training.batch_size", "models.screen", j.ScreenTraining.BatchSize, plan.TrainMapsPerSample},
		{"target_training.batch_size", "models.target", j.TargetTraining.BatchSize, plan.TrainMapsPerSample},
		{"generate.batch_size", "models.generator", j.Generate.BatchSize, plan.InferMapsPerSample},
	} {
		if shape, ok := shapes[c.model]; ok {
			if err := j.checkFit(c.key, c.batch, shape, c.maps); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkFit is plan.CheckFits for one key of the job (batch 0: left to the budget, not checked).
func (j *Job) checkFit(key string, batch int, shape [3]int, maps int) error {
	if batch <= 0 {
		return nil
	}
	gpu := strings.HasPrefix(j.Device, "cuda")
	var lib hostres.NVML
	if gpu {
		lib = budgetNVML()
	}
	return plan.CheckFits(hostres.Memory{NVML: lib, Host: budgetHost}, j.memoryConfig(), plan.FitRequest{Key: key, Batch: batch, ImageShape: shape, Maps: maps, GPU: gpu})
}

// memoryConfig is [plan.memory] with the device index of a "cuda:N" job.
func (j *Job) memoryConfig() plan.MemoryConfig {
	mem := j.Plan.Memory
	if _, n, ok := strings.Cut(j.Device, ":"); ok && strings.HasPrefix(j.Device, "cuda") {
		if d, err := strconv.Atoi(n); err == nil {
			mem.Device = d
		}
	}
	return mem
}

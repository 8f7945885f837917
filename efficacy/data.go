package efficacy

import (
	"github.com/gam-native/gam-native/bindings"
	"github.com/gam-native/gam-native/data"
	"github.com/gam-native/gam-native/loop"
)

// loadSplits builds the split every method trains on with package loop's own loader, from the
// same [data] table GAM's job gets (scenario, then train/test limits), so GAM sees the same images.
func loadSplits(e *bindings.Engine, o *Options) (*data.Splits, error) {
	j := loop.DefaultJob()
	j.Data.Source, j.Data.Path, j.Data.Scenario, j.Data.Params = "fashion-mnist", o.DataDir, o.Scenario, o.Params
	j.Data.TrainLimit, j.Data.TestLimit = o.TrainLimit, o.TestLimit
	return loop.LoadSplits(e, &j)
}

// loadFullTrain is the whole Fashion-MNIST training set the scenario draws from.
func loadFullTrain(o *Options) (*data.Dataset, error) {
	dir := o.DataDir
	if dir == "" {
		dir = data.DefaultFashionMNISTDir
	}
	return data.LoadFashionMNIST(dir, "train")
}

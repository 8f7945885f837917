// Command seednoise trains the default job's round-0 target (the zoo CNN, class-balanced sampling,
// on the default job's Fashion-MNIST-LT split) once per training seed and prints each model's test
// balanced accuracy and shirt recall, then their mean and standard deviation: how much of a GAM
// round's effect the target's own seed could explain (docs/efficacy-log.md, "Training noise").
//
//	go run ./bench/seednoise -epochs 8 -schedule constant
//	go run ./bench/seednoise -epochs 8 -schedule cosine
//
// It needs the engine and the zoo built (make), found as gam-native finds them.
package main

import (
	"flag"
	"fmt"
	"log"
	"path/filepath"
	"slices"

	"github.com/gam-native/gam-native/bindings"
	"github.com/gam-native/gam-native/data"
	"github.com/gam-native/gam-native/efficacy"
	"github.com/gam-native/gam-native/progress"
	"github.com/gam-native/gam-native/train"
)

func main() {
	epochs := flag.Int("epochs", 8, "target epochs")
	schedule := flag.String("schedule", train.LRConstant, "learning-rate schedule: constant or cosine")
	flag.Parse()
	if err := train.CheckLRSchedule(*schedule); err != nil {
		log.Fatalf("-schedule %v", err)
	}
	progress.Quiet = true
	e, err := bindings.Open("")
	if err != nil {
		log.Fatal(err)
	}
	tr, err := data.LoadFashionMNIST("", "train")
	if err != nil {
		log.Fatal(err)
	}
	te, err := data.LoadFashionMNIST("", "test")
	if err != nil {
		log.Fatal(err)
	}
	sp, err := data.ApplyScenario(data.LongTailScenario, data.DefaultScenario(), tr, te, nil)
	if err != nil {
		log.Fatal(err)
	}
	shirt := slices.Index(sp.Test.ClassNames, "shirt")
	var ba, sh []float64
	for _, seed := range []uint64{3, 10, 17, 24, 31} { // 3: the default job's
		m, err := e.LoadModel(filepath.Join(bindings.FindZoo(), "cnn.pt"), bindings.RoleClassifier)
		if err != nil {
			log.Fatal(err)
		}
		o := train.ClassifierOptions{Epochs: *epochs, Sampling: train.SampleBalanced, Seed: seed, LRSchedule: *schedule}
		if _, err := train.Classifier(e, m, sp.Train, nil, o); err != nil {
			log.Fatal(err)
		}
		ev, err := efficacy.Evaluate(e, m, sp.Test)
		if err != nil {
			log.Fatal(err)
		}
		m.Close()
		ba, sh = append(ba, ev.Summary.BalancedAccuracy), append(sh, ev.Recall[shirt])
		fmt.Printf("seed %2d  test balanced accuracy %.4f  shirt recall %.3f\n", seed, ba[len(ba)-1], sh[len(sh)-1])
	}
	bm, bs := efficacy.MeanSD(ba)
	sm, ss := efficacy.MeanSD(sh)
	fmt.Printf("%s, %d epochs: balanced accuracy %.4f +- %.4f, shirt recall %.3f +- %.3f (mean +- sample sd over 5 seeds)\n",
		*schedule, *epochs, bm, bs, sm, ss)
}

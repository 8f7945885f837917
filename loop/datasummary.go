package loop

import "github.com/gam-native/gam-native/data"

// Files of the run folder that describe the data and the zoo's models (docs/run-folder.md).
const (
	DataFile = "data.json"
	ZooFile  = "zoo.json"
)

// DataSummary is data.json and report.json's "data": what the run trained and judged on.
type DataSummary struct {
	Source     string   `json:"source"`
	Scenario   string   `json:"scenario"`
	ImageShape [3]int   `json:"image_shape"`
	Classes    []string `json:"classes"`
	// Counts are images per class of each split, in class order.
	Train []int `json:"train_per_class"`
	Val   []int `json:"val_per_class"`
	Test  []int `json:"test_per_class"`
	// Held names the splits held out of the training images (the source had none of its own).
	Held []string `json:"held_out,omitempty"`
	// Images says how an ImageFolder's training images were read: sizes, what was resized and
	// how (resize names the filter), colour and gray counts. Absent for other sources.
	Images *data.ImageInfo `json:"images,omitempty"`
	// Resize is the sentence on resizing ("none resized" or what was and how), for imagefolders.
	Resize string `json:"resize,omitempty"`
}

func (r *Runner) dataSummary() DataSummary {
	sp := r.splits
	tr := sp.Train
	s := DataSummary{Source: r.Job.Data.Source, Scenario: r.Job.Data.Scenario, ImageShape: [3]int{tr.C, tr.H, tr.W},
		Classes: tr.ClassNames, Train: tr.ClassCounts(), Val: sp.Val.ClassCounts(), Test: sp.Test.ClassCounts(),
		Held: sp.Held, Images: sp.Info}
	if sp.Info != nil {
		s.Resize = sp.Info.Sentence()
	}
	return s
}

package bench

import (
	"context"
	"testing"
)

// pipeline_null runs the pipeline with the null fixtures (zoo/fixtures.py) and every image
// accepted; without the fixtures it is skipped with the reason, never an error.
func TestPipelineNull(t *testing.T) {
	e, o := quickSuite(t)
	o.Names, o.Batches = []string{"pipeline_null"}, []int{256}
	res, err := Run(context.Background(), e, o)
	if err != nil {
		t.Fatal(err)
	}
	f := res.Find("pipeline_null", 256)
	if f == nil {
		if why := res.Skipped["pipeline_null"]; why != "" {
			t.Skipf("pipeline_null skipped: %s", why)
		}
		t.Fatalf("no pipeline_null figure: %+v", res.Figures)
	}
	if !(f.Median > 0) || f.Extra["attempts_per_s"] < f.Median || !(f.Extra["ns_per_accepted"] > 0) {
		t.Fatalf("pipeline_null: %+v", f)
	}
}

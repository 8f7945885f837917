package generate

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/gam-native/gam-native/data"
)

func recsOf(targets ...string) []data.Record {
	out := make([]data.Record, len(targets))
	for i, t := range targets {
		out[i] = data.Record{Path: fmt.Sprintf("%s/%d.png", t, i), Provenance: &data.Provenance{Target: t}}
	}
	return out
}

// TestMergeSelect: quotas met exactly from the shards in order, near-duplicates dropped (and not
// counted against the quota), the surplus trimmed, a short target reported, and dup asked only
// about images that would be kept.
func TestMergeSelect(t *testing.T) {
	shards := [][]data.Record{
		recsOf("shirt", "shirt", "coat"),
		recsOf("shirt", "coat", "shirt"),
		recsOf("coat", "shirt"),
	}
	quotas := []MergeQuota{{"shirt", 4}, {"coat", 3}}
	dups := map[[2]int]bool{{1, 0}: true} // shard 1's first shirt duplicates an earlier one
	var asked [][2]int
	keep, targets, err := MergeSelect(shards, quotas, func(s, i int) (bool, error) {
		asked = append(asked, [2]int{s, i})
		return dups[[2]int{s, i}], nil
	})
	if err != nil {
		t.Fatal(err)
	}
	wantKeep := [][]bool{{true, true, true}, {false, true, true}, {true, true}}
	for s := range wantKeep {
		if !slices.Equal(keep[s], wantKeep[s]) {
			t.Errorf("shard %d kept %v, want %v", s, keep[s], wantKeep[s])
		}
	}
	want := []MergeTarget{
		{ID: "shirt", Quota: 4, Kept: 4, Offered: 5, Duplicates: 1},
		{ID: "coat", Quota: 3, Kept: 3, Offered: 3},
	}
	if !slices.Equal(targets, want) {
		t.Errorf("targets %+v, want %+v", targets, want)
	}

	// A quota the shards cannot fill is a shortfall; a quota past which images arrive trims them,
	// and dup is not asked about a trimmed image.
	asked = nil
	_, targets, err = MergeSelect(shards, []MergeQuota{{"shirt", 1}, {"coat", 9}}, func(s, i int) (bool, error) {
		asked = append(asked, [2]int{s, i})
		return false, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if targets[0].Kept != 1 || targets[0].Trimmed != 4 || targets[1].Kept != 3 || targets[1].Shortfall != 6 {
		t.Errorf("targets %+v: want shirt 1 kept 4 trimmed, coat 3 kept 6 short", targets)
	}
	if len(asked) != 4 {
		t.Errorf("dup asked about %v: want only the 4 images that were kept", asked)
	}

	// A record of a target outside the plan names its shard and target.
	_, _, err = MergeSelect([][]data.Record{recsOf("bag")}, quotas, func(int, int) (bool, error) { return false, nil })
	if err == nil || !strings.Contains(err.Error(), `"bag"`) || !strings.Contains(err.Error(), "shard 0") {
		t.Errorf("unknown target: %v", err)
	}
}

func TestMergeDedup(t *testing.T) {
	d := NewMergeDedup(0.99)
	if d.Check(0, []float32{1, 0}) {
		t.Fatal("the first image is a duplicate")
	}
	if !d.Check(0, []float32{1, 0}) {
		t.Error("the same image again is not a duplicate")
	}
	if d.Check(1, []float32{1, 0}) {
		t.Error("the same vector in another class is a duplicate: classes are compared apart")
	}
	if d.Check(0, []float32{0, 1}) {
		t.Error("an orthogonal image is a duplicate")
	}
}

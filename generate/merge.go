package generate

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/gam-native/gam-native/bindings"
	"github.com/gam-native/gam-native/data"
)

// MergeQuota is one target's quota in a merge: the plan's count, which the shards' shares sum to.
type MergeQuota struct {
	ID    string `json:"id"`
	Quota int    `json:"quota"`
}

// MergeTarget is what a merge did with one target's images.
type MergeTarget struct {
	ID    string `json:"id"`
	Quota int    `json:"quota"`
	Kept  int    `json:"kept"`
	// Offered is the images the shards made for the target; Duplicates those dropped as near-
	// duplicates of an image kept from an earlier shard; Trimmed those past the quota.
	Offered    int `json:"offered"`
	Duplicates int `json:"duplicates"`
	Trimmed    int `json:"trimmed"`
	Shortfall  int `json:"shortfall,omitempty"`
}

// MergeSelect decides which images of the shards a merge keeps. Shards are taken in their
// index order and each shard's records in manifest order; a record of a target whose quota is
// met is trimmed, one that dup reports as a near-duplicate (of an image kept before; dup is
// asked only about images that would be kept, and remembers those it passes) is dropped, the
// rest are kept. Records whose target is not in quotas are an error naming the shard and the
// target. The result is a function of the shards' contents alone, so a merge run twice keeps
// the same images.
func MergeSelect(shards [][]data.Record, quotas []MergeQuota, dup func(shard, i int) (bool, error)) (keep [][]bool, targets []MergeTarget, err error) {
	pos := map[string]int{}
	targets = make([]MergeTarget, len(quotas))
	for i, q := range quotas {
		pos[q.ID] = i
		targets[i] = MergeTarget{ID: q.ID, Quota: q.Quota}
	}
	keep = make([][]bool, len(shards))
	for s, recs := range shards {
		keep[s] = make([]bool, len(recs))
		for i, r := range recs {
			id := ""
			if r.Provenance != nil {
				id = r.Provenance.Target
			}
			t, ok := pos[id]
			if !ok {
				return nil, nil, fmt.Errorf("shard %d, record %d (%s): target %q is not in the shards' plan", s, i, r.Path, id)
			}
			tg := &targets[t]
			tg.Offered++
			if tg.Kept >= tg.Quota {
				tg.Trimmed++
				continue
			}
			d, err := dup(s, i)
			if err != nil {
				return nil, nil, err
			}
			if d {
				tg.Duplicates++
				continue
			}
			keep[s][i] = true
			tg.Kept++
		}
	}
	for i := range targets {
		targets[i].Shortfall = max(0, targets[i].Quota-targets[i].Kept)
	}
	return keep, targets, nil
}

// NewMergeDedup is a near-duplicate finder with nothing seen yet: merge's, across shards (each
// shard has already compared its images with the real ones and with each other).
func NewMergeDedup(threshold float32) *Dedup {
	return &Dedup{Threshold: threshold, seen: map[int][]float32{}}
}

// EmbedAll gives the unit vectors generate's near-duplicate rule compares for every image of
// ds: the screen's embeddings when it has embed, else the pixels (screen may be nil).
func EmbedAll(e *bindings.Engine, screen *bindings.Model, ds *data.Dataset) ([][]float32, error) {
	const chunk = 512
	out := make([][]float32, 0, ds.Len())
	for lo := 0; lo < ds.Len(); lo += chunk {
		idx := make([]int, 0, chunk)
		for i := lo; i < min(lo+chunk, ds.Len()); i++ {
			idx = append(idx, i)
		}
		x, _, px, err := realBatch(e, ds, idx, -1)
		if err != nil {
			return nil, err
		}
		vecs, err := embed(screen, x, px, len(idx))
		x.Close()
		if err != nil {
			return nil, err
		}
		out = append(out, vecs...)
	}
	return out, nil
}

// MergeShardImages is MergeSelect over shards' images with generate's near-duplicate rule
// across them: each shard's images (sets[s], recs[s]; nil for a shard that accepted none) are
// embedded with screen, and an image closer than dupThreshold to one kept from an earlier shard
// is dropped (dupThreshold 0: no duplicate check). `gam-native merge` and a sharded round of
// `run` both merge this way.
func MergeShardImages(e *bindings.Engine, screen *bindings.Model, sets []*data.Dataset, recs [][]data.Record, quotas []MergeQuota, dupThreshold float32) ([][]bool, []MergeTarget, error) {
	vecs := make([][][]float32, len(sets))
	for s, ds := range sets {
		if ds == nil || ds.Len() == 0 || dupThreshold == 0 {
			continue
		}
		var err error
		if vecs[s], err = EmbedAll(e, screen, ds); err != nil {
			return nil, nil, fmt.Errorf("shard %d: embedding its images: %w", s, err)
		}
	}
	dedup := NewMergeDedup(dupThreshold)
	return MergeSelect(recs, quotas, func(s, i int) (bool, error) {
		if dupThreshold == 0 {
			return false, nil
		}
		return dedup.Check(int(recs[s][i].Label), vecs[s][i]), nil
	})
}

// EachKept calls fn for every record that MergeSelect kept, in merge order (shards in order, each
// shard's records in manifest order), with the image's bytes read from dirs[s] and a copy of its
// provenance naming its shard (names[s], "I/N"); the record's path is still the shard's, and i
// its index in the shard's manifest.
func EachKept(dirs, names []string, recs [][]data.Record, keep [][]bool, fn func(s, i int, r data.Record, b []byte) error) error {
	for s := range recs {
		for i, r := range recs[s] {
			if !keep[s][i] {
				continue
			}
			b, err := os.ReadFile(filepath.Join(dirs[s], filepath.FromSlash(r.Path)))
			if err != nil {
				return fmt.Errorf("shard %s: %w", names[s], err)
			}
			if r.Provenance != nil {
				p := *r.Provenance
				p.Shard = names[s]
				r.Provenance = &p
			}
			if err := fn(s, i, r, b); err != nil {
				return err
			}
		}
	}
	return nil
}

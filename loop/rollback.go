package loop

import (
	"fmt"
	"os"
	"slices"

	"github.com/gam-native/gam-native/data"
	"github.com/gam-native/gam-native/progress"
)

// rolledBackDir holds the images of rolled-back targets, moved out of accepted/ (with their
// records, into its own manifest.jsonl and metadata.jsonl): accepted/ is an ImageFolder root
// that a training service reads as it is, and it must not find there images the loop took back.
const rolledBackDir = "rolled_back"

// moveRolledBack moves the generated (not reviewed) images of every rolled-back round/target
// from accepted/ to rolled_back/. It is idempotent (data.MoveOut), so a feedback stage redone
// after a kill moves what is left and nothing twice.
func (r *Runner) moveRolledBack() error {
	if len(r.State.RolledBack) == 0 {
		return nil
	}
	n, err := data.MoveOut(r.path("accepted"), r.path(rolledBackDir), func(rec data.Record) bool {
		p := rec.Provenance
		return p != nil && p.Review == "" && slices.Contains(r.State.RolledBack, fmt.Sprintf("%d/%s", p.Round, p.Target))
	})
	if err != nil {
		return fmt.Errorf("move the rolled-back images out of %s: %w", r.path("accepted"), err)
	}
	if n > 0 {
		progress.Logf("moved %d images of rolled-back targets from accepted/ to %s/", n, rolledBackDir)
	}
	return nil
}

// acceptedWithRolledBack reads every image the screen accepted: accepted/'s and rolled_back/'s
// (nil when there is none).
func (r *Runner) acceptedWithRolledBack(classes []string) (*data.Dataset, []data.Record, error) {
	var parts []*data.Dataset
	var recs []data.Record
	for _, d := range []string{"accepted", rolledBackDir} {
		mp := r.path(d, data.ManifestName)
		if _, err := os.Stat(mp); err != nil {
			continue
		}
		ds, rs, err := data.ReadManifest(mp, classes)
		if err != nil {
			return nil, nil, err
		}
		if ds.Len() > 0 {
			parts, recs = append(parts, ds), append(recs, rs...)
		}
	}
	switch len(parts) {
	case 0:
		return nil, nil, nil
	case 1:
		return parts[0], recs, nil
	}
	ds, err := data.Concat("accepted", parts...)
	return ds, recs, err
}

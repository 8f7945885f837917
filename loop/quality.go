package loop

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gam-native/gam-native/bindings"
	"github.com/gam-native/gam-native/data"
	"github.com/gam-native/gam-native/quality"
	"github.com/gam-native/gam-native/report"
)

// EmbedImages runs m's embed over the n images px (NCHW, c x h x w each) in batches and returns
// the features, n rows of dim values.
func EmbedImages(e *bindings.Engine, m *bindings.Model, px []float32, n, c, h, w int) ([]float32, int, error) {
	if !m.Meta.HasEmbed {
		return nil, 0, fmt.Errorf("model %s has no embed(x)", m.Path)
	}
	sz := c * h * w
	if len(px) != n*sz {
		return nil, 0, fmt.Errorf("embed: %d values for %d images of %dx%dx%d", len(px), n, c, h, w)
	}
	const batch = 512
	var out []float32
	dim := 0
	for lo := 0; lo < n; lo += batch {
		hi := min(lo+batch, n)
		x, err := e.FromF32(px[lo*sz:hi*sz], int64(hi-lo), int64(c), int64(h), int64(w))
		if err != nil {
			return nil, 0, err
		}
		et, err := m.Embed(x)
		x.Close()
		if err != nil {
			return nil, 0, err
		}
		f, err := et.F32()
		et.Close()
		if err != nil {
			return nil, 0, err
		}
		out = append(out, f...)
		dim = len(f) / (hi - lo)
	}
	return out, dim, nil
}

// ClassImages are the images of ds labelled class, concatenated.
func ClassImages(ds *data.Dataset, class int) ([]float32, int) {
	var px []float32
	n := 0
	for i, y := range ds.Labels {
		if int(y) == class {
			px = append(px, ds.Image(i)...)
			n++
		}
	}
	return px, n
}

// JudgeClass judges the generated features fake against the real ones of one class (both dim
// wide) with quality.Judge; too few of either to judge gives figures with the counts and the
// reason in Skipped.
func JudgeClass(name string, real, fake []float32, dim int) quality.ClassFigures {
	cf := quality.ClassFigures{Class: name}
	if dim > 0 {
		cf.N, cf.NReal = len(fake)/dim, len(real)/dim
	}
	if need := quality.DefaultK + 1; cf.N < need || cf.NReal < need {
		cf.Skipped = fmt.Sprintf("too few images to judge (%d generated, %d real; want %d of each)", cf.N, cf.NReal, need)
		return cf
	}
	f, err := quality.Judge(real, fake, dim, quality.DefaultK)
	if err != nil {
		cf.Skipped = err.Error()
		return cf
	}
	cf.Figures = f
	return cf
}

// AcceptedQuality is report.json's generated_vs_real: each round's accepted images of each class
// against the real validation images of that class, in the embed space of one model.
type AcceptedQuality struct {
	EmbedModel string         `json:"embed_model"`
	Against    string         `json:"against"`
	K          int            `json:"k"`
	Rounds     []RoundQuality `json:"rounds"`
}

// RoundQuality is one round's accepted images, per class that got any.
type RoundQuality struct {
	Round   int                    `json:"round"`
	Classes []quality.ClassFigures `json:"classes"`
}

// qualityModel is the model whose embed judges the accepted images: the round-0 target, trained
// on the real images alone, so that the space is the target architecture's and no generated
// image shaped it; every round is judged in the same space.
const qualityModel = "models/target_r0.pt"

// judgeAccepted judges the accepted images (accepted/ and rolled_back/, reviewed ones left out)
// of each round and class against the validation images of the class; nil when nothing was
// accepted.
func (r *Runner) judgeAccepted() (*AcceptedQuality, error) {
	classes := r.splits.Train.ClassNames
	ds, recs, err := r.acceptedWithRolledBack(classes)
	if err != nil || ds == nil {
		return nil, err
	}
	byRound := map[int]map[int][]int{}
	for i, rec := range recs {
		if rec.Provenance == nil || rec.Provenance.Review != "" {
			continue // reviewed images (review apply) are a reviewer's choice, not the screen's
		}
		n := rec.Provenance.Round
		if byRound[n] == nil {
			byRound[n] = map[int][]int{}
		}
		c := int(ds.Labels[i])
		byRound[n][c] = append(byRound[n][c], i)
	}
	if len(byRound) == 0 {
		return nil, nil
	}
	m, err := r.E.LoadModel(r.path(qualityModel), bindings.RoleClassifier)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	if !m.Meta.HasEmbed {
		return nil, nil
	}
	val := r.splits.Val
	realFeat := map[int][]float32{}
	aq := &AcceptedQuality{EmbedModel: qualityModel, Against: "validation", K: quality.DefaultK}
	rounds := make([]int, 0, len(byRound))
	for n := range byRound {
		rounds = append(rounds, n)
	}
	slices.Sort(rounds)
	for _, n := range rounds {
		rq := RoundQuality{Round: n}
		for c := range classes {
			idx := byRound[n][c]
			if len(idx) == 0 {
				continue
			}
			if _, ok := realFeat[c]; !ok {
				px, k := ClassImages(val, c)
				f, _, err := EmbedImages(r.E, m, px, k, val.C, val.H, val.W)
				if err != nil {
					return nil, err
				}
				realFeat[c] = f
			}
			sub := ds.Subset(idx)
			fake, d, err := EmbedImages(r.E, m, sub.Images, sub.Len(), sub.C, sub.H, sub.W)
			if err != nil {
				return nil, err
			}
			rq.Classes = append(rq.Classes, JudgeClass(classes[c], realFeat[c], fake, d))
		}
		aq.Rounds = append(aq.Rounds, rq)
	}
	return aq, nil
}

// QualityRow formats one class's figures for a table: FD, precision, recall (or the reason there
// are none).
func QualityRow(cf quality.ClassFigures) []string {
	if cf.Skipped != "" {
		return []string{"-", "-", "-"}
	}
	return []string{fmt.Sprintf("%.2f", cf.FD), fmt.Sprintf("%.3f", cf.Precision), fmt.Sprintf("%.3f", cf.Recall)}
}

// qualityMarkdown is report.md's section on the accepted images against real ones.
func qualityMarkdown(aq *AcceptedQuality) string {
	if aq == nil || len(aq.Rounds) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("\n## Generated images against real ones, per class\n\n")
	fmt.Fprintf(&b, "Each round's accepted images of a class (rolled-back ones included) against the real %s images of the class, "+
		"in the embed space of %s (the round-0 target, trained on real images alone, so one space for every round). "+
		"FD: Fréchet distance between the two sets' Gaussian fits (0 = the same mean and spread; lower is closer). "+
		"Precision: share of the generated images inside the %d-nearest-neighbour ball of some real one (realism); "+
		"recall: share of the real images inside the ball of some generated one (coverage of the class's variety). "+
		"With few images FD is biased upwards and both shares are coarse; compare rounds and classes rather than read the numbers alone.\n\n",
		aq.Against, aq.EmbedModel, aq.K)
	var rows [][]string
	var notes []string
	for _, rq := range aq.Rounds {
		for _, cf := range rq.Classes {
			rows = append(rows, append([]string{fmt.Sprint(rq.Round), cf.Class, fmt.Sprint(cf.N), fmt.Sprint(cf.NReal)}, QualityRow(cf)...))
			if cf.Skipped != "" {
				notes = append(notes, fmt.Sprintf("round %d, %s: %s", rq.Round, cf.Class, cf.Skipped))
			}
		}
	}
	b.WriteString(report.Table([]string{"round", "class", "accepted", "real", "FD", "precision", "recall"}, rows))
	for _, n := range notes {
		b.WriteString("\n- " + n)
	}
	if len(notes) > 0 {
		b.WriteString("\n")
	}
	return b.String()
}

package efficacy

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/gam-native/gam-native/bindings"
	"github.com/gam-native/gam-native/internal/jsonfile"
	"github.com/gam-native/gam-native/internal/stageseed"
	"github.com/gam-native/gam-native/loop"
	"github.com/gam-native/gam-native/progress"
	"github.com/gam-native/gam-native/quality"
	"github.com/gam-native/gam-native/report"
)

const (
	// QualityFile and SamplesFile are written into each seed folder that has a shared generator.
	QualityFile = "generator_quality.json"
	SamplesFile = "generator_samples.png"
	// qualityPerClass images of each class are drawn from the shared generator to judge it;
	// samplesPerRow of them go into the sample grid.
	qualityPerClass = 200
	samplesPerRow   = 10
)

// GeneratorQuality is seedN/generator_quality.json: the seed's shared generator judged per
// class against the real test images of the class, in one classifier's embed space.
type GeneratorQuality struct {
	Seed uint64 `json:"seed"`
	// Embed says which model's embed: "target" (the round-0 model of the seed's GAM run, the
	// target architecture trained on real images alone) when the run has one, else "screen"
	// (the shared screen, also trained on real images alone).
	Embed      string                 `json:"embed"`
	EmbedModel string                 `json:"embed_model"` // relative to the seed folder
	Against    string                 `json:"against"`
	PerClass   int                    `json:"per_class"`
	K          int                    `json:"k"`
	Classes    []quality.ClassFigures `json:"classes"`
}

// QualityResult is results.json's generator_quality: the per-seed files' figures, mean and sd
// over the seeds that have them, per class.
type QualityResult struct {
	Seeds  []uint64            `json:"seeds"`
	Embeds []string            `json:"embeds"` // per seed, as GeneratorQuality.Embed
	Mean   []QualityClassStats `json:"classes"`
}

// QualityClassStats is one class over seeds.
type QualityClassStats struct {
	Class       string  `json:"class"`
	Seeds       int     `json:"seeds"` // seeds with figures for the class
	FD          float64 `json:"fd"`
	FDSD        float64 `json:"fd_sd"`
	Precision   float64 `json:"precision"`
	PrecisionSD float64 `json:"precision_sd"`
	Recall      float64 `json:"recall"`
	RecallSD    float64 `json:"recall_sd"`
	NReal       float64 `json:"n_real"` // mean real test images of the class
}

// qualityEmbed picks the model that judges seed's generator: GAM's round-0 target when the seed's
// GAM run has trained it, else the shared screen.
func (b *Bench) qualityEmbed(seed uint64) (kind, path string) {
	p := filepath.Join(b.seedDir(seed), MethodGAM, "models", "target_r0.pt")
	if _, err := os.Stat(p); err == nil {
		return "target", p
	}
	return "screen", filepath.Join(b.seedDir(seed), "screen.pt")
}

// judgeGenerator writes seedN/generator_quality.json and generator_samples.png for the seed's
// shared generator, if the seed has one and the file is missing or was made in another embed
// space than the one now preferred. A failure is logged, not returned: the figures describe the
// generator and no cell depends on them.
func (b *Bench) judgeGenerator(seed uint64) {
	if err := b.judgeGeneratorErr(seed); err != nil {
		progress.Logf("efficacy: seed %d: judging the generator: %v", seed, err)
	}
}

func (b *Bench) judgeGeneratorErr(seed uint64) error {
	dir := b.seedDir(seed)
	genPath := filepath.Join(dir, "generator.pt")
	if _, err := os.Stat(genPath); err != nil {
		return nil
	}
	kind, embPath := b.qualityEmbed(seed)
	if _, err := os.Stat(embPath); err != nil {
		return nil
	}
	out := filepath.Join(dir, QualityFile)
	var old GeneratorQuality
	if err := jsonfile.ReadJSON(out, &old); err == nil && old.Embed == kind {
		return nil
	}
	g, err := b.E.LoadModel(genPath, bindings.RoleGenerator)
	if err != nil {
		return err
	}
	k := g.Meta.NumClasses
	gen, err := sampleEvenly(b.E, g, b.splits.Train, qualityPerClass*k, stageseed.For(seed, stageseed.Quality))
	g.Close()
	if err != nil {
		return err
	}
	m, err := b.E.LoadModel(embPath, bindings.RoleClassifier)
	if err != nil {
		return err
	}
	defer m.Close()
	rel, err := filepath.Rel(dir, embPath)
	if err != nil {
		rel = embPath
	}
	gq := GeneratorQuality{Seed: seed, Embed: kind, EmbedModel: filepath.ToSlash(rel), Against: "test", PerClass: qualityPerClass, K: quality.DefaultK}
	test := b.splits.Test
	var rows []report.GridRow
	for c, name := range test.ClassNames {
		fpx, fn := loop.ClassImages(gen, c)
		fake, dim, err := loop.EmbedImages(b.E, m, fpx, fn, gen.C, gen.H, gen.W)
		if err != nil {
			return err
		}
		rpx, rn := loop.ClassImages(test, c)
		real, _, err := loop.EmbedImages(b.E, m, rpx, rn, test.C, test.H, test.W)
		if err != nil {
			return err
		}
		gq.Classes = append(gq.Classes, loop.JudgeClass(name, real, fake, dim))
		show := min(fn, samplesPerRow)
		rows = append(rows, report.GridRow{Label: name, Pixels: fpx[:show*gen.ImageSize()], N: show})
	}
	if err := report.LabeledGrid(filepath.Join(dir, SamplesFile), rows, gen.C, gen.H, gen.W, samplesPerRow, 2); err != nil {
		return err
	}
	progress.Logf("efficacy: seed %d: generator judged per class in the %s's embed (%s)", seed, kind, QualityFile)
	return jsonfile.WriteJSON(out, gq)
}

// collectQuality reads the seeds' generator_quality.json; nil when none has one. A file that
// does not read is logged and left out, like a failed judgement.
func (b *Bench) collectQuality() *QualityResult {
	var per []GeneratorQuality
	for _, seed := range b.O.Seeds {
		var gq GeneratorQuality
		if err := jsonfile.ReadJSON(filepath.Join(b.seedDir(seed), QualityFile), &gq); err != nil {
			if !errors.Is(err, os.ErrNotExist) {
				progress.Logf("efficacy: seed %d: %v", seed, err)
			}
			continue
		}
		per = append(per, gq)
	}
	return aggregateQuality(per)
}

// aggregateQuality is the mean and sd over seeds of each class's figures (skipped ones left out).
func aggregateQuality(per []GeneratorQuality) *QualityResult {
	if len(per) == 0 {
		return nil
	}
	qr := &QualityResult{}
	var order []string
	vals := map[string]*[4][]float64{}
	for _, gq := range per {
		qr.Seeds, qr.Embeds = append(qr.Seeds, gq.Seed), append(qr.Embeds, gq.Embed)
		for _, cf := range gq.Classes {
			v, ok := vals[cf.Class]
			if !ok {
				v = &[4][]float64{}
				vals[cf.Class] = v
				order = append(order, cf.Class)
			}
			if cf.Skipped != "" {
				continue
			}
			v[0], v[1], v[2], v[3] = append(v[0], cf.FD), append(v[1], cf.Precision), append(v[2], cf.Recall), append(v[3], float64(cf.NReal))
		}
	}
	for _, c := range order {
		v := vals[c]
		s := QualityClassStats{Class: c, Seeds: len(v[0])}
		s.FD, s.FDSD = MeanSD(v[0])
		s.Precision, s.PrecisionSD = MeanSD(v[1])
		s.Recall, s.RecallSD = MeanSD(v[2])
		s.NReal, _ = MeanSD(v[3])
		qr.Mean = append(qr.Mean, s)
	}
	return qr
}

// qualityMarkdown is results.md's section on the shared generator.
func qualityMarkdown(qr *QualityResult) string {
	if qr == nil || len(qr.Mean) == 0 {
		return ""
	}
	var spaces []string
	for i, e := range qr.Embeds {
		what := "the target's embed (the round-0 model of GAM's run: the target architecture trained on real images alone)"
		if e == "screen" {
			what = "the screen's embed (the shared screen, trained class-balanced on real images; GAM's round-0 target was not available)"
		}
		spaces = append(spaces, fmt.Sprintf("seed %d: %s", qr.Seeds[i], what))
	}
	var b strings.Builder
	b.WriteString("\n## The shared generator against real images, per class\n\n")
	fmt.Fprintf(&b, "Before its images are used: %d images per class drawn from each seed's shared generator (no condition set) against the real test images of the class, "+
		"in a classifier's feature space (%s). Mean ± sd over seeds. "+
		"FD: Fréchet distance between the two sets' Gaussian fits (lower is closer). "+
		"Precision: share of generated images inside the %d-nearest-neighbour ball of some real one (realism); "+
		"recall: share of real images inside the ball of some generated one (coverage). "+
		"Sample grids: seedN/%s.\n\n", qualityPerClass, strings.Join(spaces, "; "), quality.DefaultK, SamplesFile)
	var rows [][]string
	for _, s := range qr.Mean {
		if s.Seeds == 0 {
			rows = append(rows, []string{s.Class, "0", "-", "-", "-", "-"})
			continue
		}
		rows = append(rows, []string{s.Class, fmt.Sprint(s.Seeds), fmt.Sprintf("%.0f", s.NReal),
			fmt.Sprintf("%.2f ± %.2f", s.FD, s.FDSD), pm(s.Precision, s.PrecisionSD), pm(s.Recall, s.RecallSD)})
	}
	b.WriteString(report.Table([]string{"class", "seeds", "real test images", "FD", "precision", "recall"}, rows))
	return b.String()
}

package bench

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/gam-native/gam-native/bindings"
	"github.com/gam-native/gam-native/data"
	"github.com/gam-native/gam-native/generate"
	"github.com/gam-native/gam-native/internal/jsonfile"
	"github.com/gam-native/gam-native/plan"
	"github.com/gam-native/gam-native/progress"
	"github.com/gam-native/gam-native/train"
)

// ModelSet records which model files the figures used.
type ModelSet struct {
	Zoo       string `json:"zoo"`
	Generator string `json:"generator"` // briefly trained cVAE (or the zoo's, untrained)
	Screen    string `json:"screen"`
	Trained   bool   `json:"trained"`
	Note      string `json:"note"`
}

type suite struct {
	e       *bindings.Engine
	o       Options
	res     *Result
	gpu     bool
	zoo     string
	gen     *bindings.Model // the pipeline's generator (cVAE)
	screen  *bindings.Model
	cal     *generate.Calibration
	ds      *data.Dataset // real images for dedup, nil when the data set is absent
	probThr float32
	confThr float32
	inputs  map[int]*batchInputs
	ceilBS  int
	// ceilLanes and ceilAttemptLanes are the best ceiling_forward_lanes and
	// ceiling_screen_first_lanes figures (nil on a GPU or one CPU).
	ceilLanes, ceilAttemptLanes *Figure
}

func (s *suite) close() {
	for _, in := range s.inputs {
		in.close()
	}
	s.gen.Close()
	s.screen.Close()
}

// load finds the zoo and gets the pipeline's generator and screen: the zoo's cVAE and screen
// trained briefly on Fashion-MNIST (a few seconds, cached), so that acceptance rates, and so the
// work of the sink, look like a real run's; untrained zoo models with open thresholds when the
// data set is absent and nothing is cached.
func (s *suite) load() error {
	s.zoo = s.o.Zoo
	if s.zoo == "" {
		s.zoo = bindings.FindZoo()
	}
	if s.zoo == "" {
		return errors.New("model zoo not found: run make, or pass --zoo / set GAM_ZOO")
	}
	s.inputs = map[int]*batchInputs{}
	s.probThr, s.confThr = generate.DefaultConfig().ProbThreshold, generate.DefaultConfig().ConfThreshold
	dir := s.o.ModelsDir
	if dir == "" {
		dir = filepath.Join(filepath.Dir(s.zoo), "bench-models")
	}
	ms := ModelSet{Zoo: s.zoo}
	if ds, err := loadData(s.o.Data); err == nil {
		s.ds = ds
	} else {
		s.o.Logf("bench: no Fashion-MNIST (%v): dedup checks accepted images only", err)
	}
	key, err := zooKey(s.zoo)
	if err != nil {
		return err
	}
	dir = filepath.Join(dir, key)
	genPath, scrPath, calPath := filepath.Join(dir, "generator.pt"), filepath.Join(dir, "screen.pt"), filepath.Join(dir, "calibration.json")
	if !exists(genPath) || !exists(scrPath) || !exists(calPath) {
		if s.ds != nil {
			if err := s.trainModels(dir, genPath, scrPath, calPath); err != nil {
				return fmt.Errorf("training the bench models: %w", err)
			}
		}
	}
	if exists(genPath) && exists(scrPath) && exists(calPath) {
		ms.Generator, ms.Screen, ms.Trained = genPath, scrPath, true
		ms.Note = "zoo cVAE and screen trained briefly on 20,000 Fashion-MNIST images (cVAE 5 epochs, screen 3; cached): acceptance rates of a real run"
		b, err := os.ReadFile(calPath)
		if err != nil {
			return err
		}
		s.cal = &generate.Calibration{}
		if err := json.Unmarshal(b, s.cal); err != nil {
			return fmt.Errorf("%s: %w", calPath, err)
		}
	} else {
		ms.Generator, ms.Screen = filepath.Join(s.zoo, "cvae.pt"), filepath.Join(s.zoo, "screen.pt")
		ms.Note = "untrained zoo models (no Fashion-MNIST and no cache): thresholds opened to 0, only the label check rejects"
		s.probThr, s.confThr = 0, 0
	}
	s.res.Models = ms
	if s.gen, err = s.e.LoadModel(ms.Generator, bindings.RoleGenerator); err != nil {
		return err
	}
	if s.screen, err = s.e.LoadModel(ms.Screen, bindings.RoleClassifier); err != nil {
		return err
	}
	return nil
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

// zooKey names the cache by the zoo files it was trained from.
func zooKey(zoo string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "bench-models/v2\n")
	for _, n := range []string{"cvae.pt", "screen.pt"} {
		f, err := os.Open(filepath.Join(zoo, n))
		if err != nil {
			return "", err
		}
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

func loadData(dir string) (*data.Dataset, error) {
	ds, err := data.LoadFashionMNIST(dir, "train")
	if err != nil {
		return nil, err
	}
	// 2,000 images of each class: enough for brief training, calibration and dedup references.
	var idx []int
	counts := map[int64]int{}
	for i, y := range ds.Labels {
		if counts[y] < 2000 {
			counts[y]++
			idx = append(idx, i)
		}
	}
	return ds.Subset(idx), nil
}

func (s *suite) trainModels(dir, genPath, scrPath, calPath string) error {
	s.o.Logf("bench: training the bench's generator and screen briefly (once; cached in %s)", dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	q := progress.Quiet
	progress.Quiet = true
	defer func() { progress.Quiet = q }()
	g, err := s.e.LoadModel(filepath.Join(s.zoo, "cvae.pt"), bindings.RoleGenerator)
	if err != nil {
		return err
	}
	defer g.Close()
	if _, err := train.Generator(s.e, g, s.ds, train.GeneratorOptions{Epochs: 5, Balanced: true, Seed: 1}); err != nil {
		return err
	}
	sc, err := s.e.LoadModel(filepath.Join(s.zoo, "screen.pt"), bindings.RoleClassifier)
	if err != nil {
		return err
	}
	defer sc.Close()
	if _, err := train.Classifier(s.e, sc, s.ds, nil, train.ClassifierOptions{Epochs: 3, Seed: 1, Sampling: train.SampleBalanced}); err != nil {
		return err
	}
	cal, err := generate.Calibrate(s.e, g, s.ds, 200)
	if err != nil {
		return err
	}
	b, err := json.Marshal(cal)
	if err != nil {
		return err
	}
	if err := jsonfile.WriteAtomic(calPath, b); err != nil {
		return err
	}
	if err := g.Save(genPath); err != nil {
		return err
	}
	return sc.Save(scrPath)
}

// targets is the pipeline's plan: one target per class, some with a condition the cVAE lists in
// attr_names (so the peer, which has no native degradations, does the same work), quotas summing
// to total.
func targets(classes, total int) []plan.Target {
	conds := []string{"", "blur", "", "shadow", "", "blur", "", "", "shadow", ""}
	out := make([]plan.Target, classes)
	for c := range out {
		t := plan.Target{ID: fmt.Sprintf("class%d", c), Class: c, ClassName: fmt.Sprint(c), Count: total / classes}
		if c < total%classes {
			t.Count++
		}
		if cond := conds[c%len(conds)]; cond != "" {
			t.ID += "/" + cond
			t.Condition, t.SeverityMin, t.SeverityMax = cond, 0.5, 1
		}
		out[c] = t
	}
	return out
}

// rawThresholds converts the calibrated confidence threshold into a raw score per class (the
// smallest real score whose percentile reaches thr) for the peer, which has no calibration code.
func rawThresholds(cal *generate.Calibration, classes int, thr float32) []float64 {
	out := make([]float64, classes)
	for c := range out {
		out[c] = -1 // every raw score (in [0,1]) passes
		if cal == nil || c >= len(cal.PerClass) || len(cal.PerClass[c]) == 0 || thr <= 0 {
			continue
		}
		sc := cal.PerClass[c]
		for i := range sc {
			if float32(i+1)/float32(len(sc)) >= thr {
				out[c] = float64(sc[i])
				break
			}
		}
	}
	return out
}

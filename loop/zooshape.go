package loop

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gam-native/gam-native/bindings"
	"github.com/gam-native/gam-native/internal/atomicfile"
	"github.com/gam-native/gam-native/progress"
)

// ZooAttrs are the conditions the zoo's generators are exported with (zoo/export.py's default).
var ZooAttrs = []string{"blur", "shadow"}

// ZooSeed is the weight seed of every zoo export (make's and the shaped ones).
const ZooSeed = 0

// DataShape is what a model must fit: the data's image shape and class count.
type DataShape struct {
	C, H, W int
	Classes int
}

func (s DataShape) String() string {
	return fmt.Sprintf("%dx%dx%d, %d classes", s.C, s.H, s.W, s.Classes)
}

// ZooModel records where a zoo:NAME model came from: the exported file of `make` when it fits
// the data, else a copy exported for the data's shape into the cache (zoo.json in the run folder).
type ZooModel struct {
	Key  string `json:"key"`  // the job key, e.g. models.generator
	Ref  string `json:"ref"`  // zoo:NAME
	File string `json:"file"` // the TorchScript file used
	// CacheKey names the cache entry (architecture, shape, classes, attributes, seed); empty when
	// the file is make's own export.
	CacheKey string `json:"cache_key,omitempty"`
	// Exported is true when this run exported it (a cache miss), with the seconds it took.
	Exported bool    `json:"exported,omitempty"`
	Seconds  float64 `json:"seconds,omitempty"`
}

// ZooCacheDir is where zoo models shaped to a data set are kept: $GAM_ZOO_CACHE, else
// gam-native/zoo under the user's cache folder ($XDG_CACHE_HOME or ~/.cache).
func ZooCacheDir() (string, error) {
	if d := os.Getenv("GAM_ZOO_CACHE"); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("the zoo's cache: no user cache folder (%v); set GAM_ZOO_CACHE", err)
	}
	return filepath.Join(d, "gam-native", "zoo"), nil
}

// ZooCacheKey is the cache entry's name: NAME-CxHxW-kK-ATTRS-sSEED, e.g. cvae-3x64x64-k4-blur+shadow-s0.
func ZooCacheKey(name string, s DataShape, attrs []string) string {
	a := strings.Join(attrs, "+")
	if a == "" {
		a = "none"
	}
	return fmt.Sprintf("%s-%dx%dx%d-k%d-%s-s%d", name, s.C, s.H, s.W, s.Classes, a, ZooSeed)
}

// zooExportMu serialises exports within a process (each is a Python process of its own).
var zooExportMu sync.Mutex

// ResolveModelFor is ResolveModel for a data set: a zoo:NAME model whose exported file does not
// fit want (image shape, class count) is exported for it, once, into the cache (ZooCacheDir);
// meta reads a file's contract attributes (the engine's LoadModel). A file that is not zoo:NAME
// is returned as it is (CheckModel then says whether it fits). zm is nil for a file.
func ResolveModelFor(key, ref string, want DataShape, meta func(path string) (bindings.Meta, error)) (path string, zm *ZooModel, err error) {
	name, ok := strings.CutPrefix(ref, "zoo:")
	if !ok {
		p, err := ResolveModel(ref)
		return p, nil, err
	}
	p, err := ResolveModel(ref)
	if err != nil {
		return "", nil, err
	}
	m, err := meta(p)
	if err != nil {
		return "", nil, err
	}
	zm = &ZooModel{Key: key, Ref: ref, File: p}
	if fits(m, want) {
		return p, zm, nil
	}
	dir, err := ZooCacheDir()
	if err != nil {
		return "", nil, fmt.Errorf("%s = %q: %s is %s, the data %s: %w", key, ref, p, metaShape(m), want, err)
	}
	zm.CacheKey = ZooCacheKey(name, want, ZooAttrs)
	zm.File = filepath.Join(dir, zm.CacheKey, name+".pt")
	if _, err := os.Stat(zm.File); err != nil {
		zooExportMu.Lock()
		defer zooExportMu.Unlock()
		if _, err := os.Stat(zm.File); err != nil {
			t0 := time.Now()
			if err := exportZoo(name, want, dir, zm.CacheKey); err != nil {
				return "", nil, fmt.Errorf("%s = %q: exporting it for the data (%s): %w", key, ref, want, err)
			}
			zm.Exported, zm.Seconds = true, time.Since(t0).Seconds()
		}
	}
	got, err := meta(zm.File)
	if err != nil {
		return "", nil, fmt.Errorf("%s = %q: the cached export %s: %w (remove its folder to export it again)", key, ref, zm.File, err)
	}
	if !fits(got, want) {
		return "", nil, fmt.Errorf("%s = %q: the cached export %s is %s, not the data's %s (remove its folder to export it again)", key, ref, zm.File, metaShape(got), want)
	}
	return zm.File, zm, nil
}

func fits(m bindings.Meta, s DataShape) bool {
	return m.ImageShape == [3]int{s.C, s.H, s.W} && m.NumClasses == s.Classes
}

func metaShape(m bindings.Meta) string {
	return fmt.Sprintf("%dx%dx%d, %d classes", m.ImageShape[0], m.ImageShape[1], m.ImageShape[2], m.NumClasses)
}

// ZooExportScript finds zoo/export.py: $GAM_ZOO_SRC/export.py, else zoo/ beside the binary's
// folder's parent (build/gam-native -> zoo/), else zoo/ in the working directory or a parent.
func ZooExportScript() (string, error) {
	var cands []string
	if d := os.Getenv("GAM_ZOO_SRC"); d != "" {
		cands = append(cands, filepath.Join(d, "export.py"))
	}
	if exe, err := os.Executable(); err == nil {
		if r, err := filepath.EvalSymlinks(exe); err == nil {
			exe = r
		}
		cands = append(cands, filepath.Join(filepath.Dir(exe), "zoo-src", "export.py"), filepath.Join(filepath.Dir(filepath.Dir(exe)), "zoo", "export.py"))
	}
	if wd, err := os.Getwd(); err == nil {
		for d := wd; ; d = filepath.Dir(d) {
			cands = append(cands, filepath.Join(d, "zoo", "export.py"))
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	for _, c := range cands {
		if _, err := os.Stat(c); err == nil {
			return c, nil
		}
	}
	return "", errors.New("zoo/export.py not found (set GAM_ZOO_SRC to the zoo's source folder)")
}

// zooPython is the Python that exports: $GAM_PYTHON, else Debian's /usr/bin/python3 (python3-torch).
func zooPython() string {
	if p := os.Getenv("GAM_PYTHON"); p != "" {
		return p
	}
	return "/usr/bin/python3"
}

// exportZoo runs zoo/export.py --only NAME for s into dir/key, through a temporary folder
// renamed into place, so a killed export leaves no half entry and two processes exporting the
// same key keep the first one's. Its lines are shown as progress, with a line every 10 s.
func exportZoo(name string, s DataShape, dir, key string) error {
	script, err := ZooExportScript()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(dir, ".export-"+key+"-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	args := []string{script, "--out", tmp, "--only", name, "--seed", fmt.Sprint(ZooSeed),
		"--image-shape", fmt.Sprintf("%d,%d,%d", s.C, s.H, s.W), "--num-classes", fmt.Sprint(s.Classes),
		"--attr-names", strings.Join(ZooAttrs, ",")}
	py := zooPython()
	progress.Logf("zoo: exporting %s for the data (%s) into %s (%s %s)", name, s, filepath.Join(dir, key), py, strings.Join(args[3:], " "))
	cmd := exec.Command(py, args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%s: %w (set GAM_PYTHON to a Python with PyTorch 1.13, e.g. Debian's python3-torch)", py, err)
	}
	done := make(chan struct{})
	go func() {
		tick := time.NewTicker(10 * time.Second)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				progress.Logf("zoo: exporting %s ... %.0fs", name, time.Since(t0).Seconds())
			}
		}
	}()
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		progress.Logf("zoo: %s", strings.TrimSpace(sc.Text()))
	}
	io.Copy(io.Discard, out)
	err = cmd.Wait()
	close(done)
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if lines := strings.Split(msg, "\n"); len(lines) > 6 {
			msg = strings.Join(lines[len(lines)-6:], "\n")
		}
		return fmt.Errorf("%s %s: %w\n%s", py, strings.Join(args, " "), err, msg)
	}
	if _, err := os.Stat(filepath.Join(tmp, name+".pt")); err != nil {
		return fmt.Errorf("%s wrote no %s.pt", script, name)
	}
	if err := atomicfile.PublishDir(tmp, filepath.Join(dir, key)); err != nil {
		if _, statErr := os.Stat(filepath.Join(dir, key, name+".pt")); statErr == nil {
			return nil // another process exported the same key first
		}
		return err
	}
	progress.Logf("zoo: %s exported in %.1fs", name, time.Since(t0).Seconds())
	return nil
}

// CheckModel refuses a model that does not fit the data: its channels, its image height and
// width, its class count. The error names the job key, the file, the member, what it has and
// what the data needs.
func CheckModel(key, path string, m bindings.Meta, want DataShape, source string) error {
	is := m.ImageShape
	where := fmt.Sprintf("%s: %s", key, path)
	if is[0] != want.C {
		return fmt.Errorf("%s: image_shape is [%d, %d, %d] (%s), but the data (%s) is %dx%dx%d (%s): export the model for [%d, %d, %d] (a job's zoo:NAME models are exported for the data by gam-native)",
			where, is[0], is[1], is[2], channelsWord(is[0]), source, want.C, want.H, want.W, channelsWord(want.C), want.C, want.H, want.W)
	}
	if is[1] != want.H || is[2] != want.W {
		return fmt.Errorf("%s: image_shape is [%d, %d, %d] (%dx%d pixels, HxW), but the data (%s) is %dx%d: export the model for [%d, %d, %d], or set data.image_size = [%d, %d] to resize the data to the model",
			where, is[0], is[1], is[2], is[1], is[2], source, want.H, want.W, want.C, want.H, want.W, is[1], is[2])
	}
	if m.NumClasses != want.Classes {
		return fmt.Errorf("%s: num_classes is %d, but the data (%s) has %d classes: export the model for %d classes",
			where, m.NumClasses, source, want.Classes, want.Classes)
	}
	return nil
}

// CheckConditions refuses a generator when a condition the plan can ask for (from) is neither in
// its attr_names nor one the engine applies natively after sampling.
func CheckConditions(key, path string, m bindings.Meta, conditions []string, from string) error {
	for _, c := range conditions {
		if slices.Contains(m.AttrNames, c) {
			continue
		}
		if _, err := bindings.ParseCondition(c); err != nil {
			return fmt.Errorf("%s: %s: attr_names is [%s], and the condition %q that %s asks for is neither there nor one the engine applies natively (blur, shadow, low_contrast, noise)",
				key, path, strings.Join(m.AttrNames, ", "), c, from)
		}
	}
	return nil
}

func channelsWord(c int) string {
	switch c {
	case 1:
		return "1 channel, grayscale"
	case 3:
		return "3 channels, RGB"
	}
	return fmt.Sprintf("%d channels", c)
}

// MetaReader reads a model file's contract attributes through the engine (load, check, close).
func MetaReader(e *bindings.Engine, role bindings.Role) func(string) (bindings.Meta, error) {
	return func(path string) (bindings.Meta, error) {
		m, err := e.LoadModel(path, role)
		if err != nil {
			return bindings.Meta{}, err
		}
		defer m.Close()
		return m.Meta, nil
	}
}

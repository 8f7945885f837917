package data

import (
	"bytes"
	"reflect"
	"testing"
)

// FuzzReadIDX: any pair of files either reads as a consistent dataset or
// fails with an error; it never panics or allocates what the input lacks.
func FuzzReadIDX(f *testing.F) {
	imgs, labs := tinyIDX(3, 2, 2, 2)
	f.Add(imgs, labs)
	f.Add(gz(f, imgs), gz(f, labs))
	f.Add(imgs[:10], labs)
	f.Add(idxBytes([]int{1 << 20, 1 << 20, 0}, nil), labs)
	f.Fuzz(func(t *testing.T, images, labels []byte) {
		src, err := idxStream("images", bytes.NewReader(images), int64(len(images)))
		if err != nil {
			return
		}
		n, h, w, pix, err := decodeIDXImages("images", src)
		if err != nil {
			return
		}
		if len(pix) != n*h*w {
			t.Fatalf("%d floats for %d images of %dx%d", len(pix), n, h, w)
		}
		for _, v := range pix {
			if !(v >= 0 && v <= 1) {
				t.Fatalf("pixel %v outside [0,1]", v)
			}
		}
		src, err = idxStream("labels", bytes.NewReader(labels), int64(len(labels)))
		if err != nil {
			return
		}
		lab, err := decodeIDXLabels("labels", src)
		if err != nil {
			return
		}
		ds, err := assembleIDX("images", n, h, w, pix, lab, "labels")
		if err != nil {
			return
		}
		if err := ds.Validate(); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzParseManifestLine: a line that parses writes back to a line that
// parses to the same record, and writing is then a fixed point.
func FuzzParseManifestLine(f *testing.F) {
	for _, s := range []string{
		`{"path":"images/a.png","label":3}`,
		`{"ref":"idx:/x/t.gz#4","class":"coat","attrs":{"blur":0.5,"noise":0}}`,
		`{"v":1,"path":"images/shirt/g.png","label":6,"class":"shirt","attrs":{"blur":0.6},"source":"generated","provenance":{"round":1,"target":"shirt/blurry","seed":123,"generator":"zoo:cvae","confidence":0.81,"screen_prob":0.97,"conditions":{"blur":"generator"}},"meta":{"k":[1,2]}}`,
		`{"path": `,
		`{"path":"../a.png","label":1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		rec, err := ParseManifestLine(line)
		if err != nil {
			return
		}
		out, err := rec.MarshalLine()
		if err != nil {
			t.Fatalf("parsed record does not write: %v", err)
		}
		again, err := ParseManifestLine(out)
		if err != nil {
			t.Fatalf("written line %s does not parse: %v", out, err)
		}
		out2, err := again.MarshalLine()
		if err != nil || !bytes.Equal(out, out2) {
			t.Fatalf("not a fixed point:\n%s\n%s", out, out2)
		}
		rec.Meta, again.Meta = nil, nil // compacted on writing
		if !reflect.DeepEqual(rec, again) {
			t.Fatalf("record changed:\n%+v\n%+v", rec, again)
		}
	})
}

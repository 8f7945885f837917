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

// FuzzManifestClasses (issue 22, item 7): a whole manifest file, read as ReadManifest reads it
// up to the images (its lines, the classes of its records, each record's label, attributes and
// soft labels), is read or refused with an error; it never panics or allocates what the input
// lacks (a record's label sizes the class list).
func FuzzManifestClasses(f *testing.F) {
	example := []byte(`{"v":1,"path":"images/shirt/g_r1_000001.png","label":6,"class":"shirt","attrs":{"blur":0.6},"source":"generated","provenance":{"round":1,"target":"shirt/blurry","seed":123,"generator":"zoo:cvae","confidence":0.81,"screen_prob":0.97,"conditions":{"blur":"generator"}}}
{"v":1,"ref":"idx:/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz#123","label":4,"class":"coat","source":"real"}
`)
	f.Add(example)
	f.Add([]byte("{\"path\":\"a.png\",\"label\":0,\"class\":\"a\"}\n{\"path\":\"b.png\",\"label\":1,\"class\":\"b\"}\n"))
	f.Add([]byte("{\"path\":\"a.png\",\"class\":\"a\"}\n\n{\"path\":\"b.png\",\"class\":\"b\"}\n"))
	f.Add([]byte("{\"path\":\"a.png\",\"label\":0,\"class\":\"a\"}\n{\"path\":\"b.png\",\"label\":1,\"class\":\"b\",\"mix\":{\"with\":\"a\",\"weight\":0.3}}\n"))
	f.Add([]byte("{\"path\":\"a.png\",\"label\":2000000000,\"class\":\"a\"}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		recs, lines, err := scanManifest("fuzz.jsonl", bytes.NewReader(b))
		if err != nil {
			return
		}
		if len(lines) != len(recs) {
			t.Fatalf("%d records, %d line numbers", len(recs), len(lines))
		}
		names, err := classesFromRecords(recs)
		if err != nil {
			return
		}
		if len(names) > len(recs) {
			t.Fatalf("%d class names from %d records", len(names), len(recs))
		}
		at := func(i int, err error) error { return err }
		for i := range recs {
			l, err := resolveLabel(&recs[i], names)
			if err != nil {
				return
			}
			if l < 0 || int(l) >= len(names) {
				t.Fatalf("record %d resolved to label %d of %d classes", i, l, len(names))
			}
			recs[i].Label = l
		}
		if _, err := attrsFromRecords(recs); err != nil {
			return
		}
		mix, err := mixFromRecords(recs, names, at)
		if err != nil {
			return
		}
		for _, m := range mix {
			if m.With >= int64(len(names)) {
				t.Fatalf("a soft label with class %d of %d", m.With, len(names))
			}
		}
	})
}

package data

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseManifestLine(t *testing.T) {
	for _, tc := range []struct {
		desc string
		line string
		want Record // compared when err is ""
		err  string
	}{
		{"path and label", `{"path":"images/a.png","label":3}`,
			Record{V: 1, Path: "images/a.png", Label: 3}, ""},
		{"class without label", `{"ref":"idx:/x/t.gz#4","class":"coat"}`,
			Record{V: 1, Ref: "idx:/x/t.gz#4", Label: NoLabel, Class: "coat"}, ""},
		{"full generated record", `{"v":1,"path":"images/shirt/g.png","label":6,"class":"shirt","attrs":{"blur":0.6},"source":"generated",` +
			`"provenance":{"round":1,"target":"shirt/blurry","seed":123,"generator":"zoo:cvae","confidence":0.81,"screen_prob":0.97,"conditions":{"blur":"generator"}},"meta":{"k":[1,2]}}`,
			Record{V: 1, Path: "images/shirt/g.png", Label: 6, Class: "shirt", Attrs: map[string]float32{"blur": 0.6}, Source: "generated",
				Provenance: &Provenance{Round: 1, Target: "shirt/blurry", Seed: 123, Generator: "zoo:cvae", Confidence: 0.81, ScreenProb: 0.97,
					Conditions: map[string]string{"blur": "generator"}}, Meta: []byte(`{"k":[1,2]}`)}, ""},
		{"not JSON", `{"path": `, Record{}, "not a JSON record"},
		{"two values", `{"path":"a.png","label":1} {}`, Record{}, "more than one value"},
		{"an array", `[1]`, Record{}, "not a JSON record"},
		{"misspelt field", `{"path":"a.png","lable":1}`, Record{}, `unknown field "lable"`},
		{"neither path nor ref", `{"label":1}`, Record{}, `neither "path" nor "ref"`},
		{"neither label nor class", `{"path":"a.png"}`, Record{}, `neither "label" nor "class"`},
		{"label -1 (issue 27)", `{"path":"a.png","label":-1}`, Record{}, `"label" = -1: want a class index >= 0`},
		{"label -1 with a class", `{"path":"a.png","label":-1,"class":"coat"}`, Record{}, `"label" = -1: want a class index >= 0`},
		{"label -7", `{"path":"a.png","label":-7}`, Record{}, `"label" = -7`},
		{"escaping path", `{"path":"../a.png","label":1}`, Record{}, "inside the manifest's folder"},
		{"absolute path", `{"path":"/a.png","label":1}`, Record{}, "must be relative"},
		{"unknown attribute", `{"path":"a.png","label":1,"attrs":{"fog":0.2}}`, Record{}, `unknown attribute "fog"`},
		{"severity above 1", `{"path":"a.png","label":1,"attrs":{"blur":1.5}}`, Record{}, "outside [0,1]"},
		{"newer schema", `{"v":2,"path":"a.png","label":1}`, Record{}, "schema version 2"},
		{"bad source", `{"path":"a.png","label":1,"source":"dreamt"}`, Record{}, `source "dreamt"`},
		{"bad idx ref", `{"ref":"idx:/x.gz#-1","label":1}`, Record{}, "not a non-negative integer"},
		{"bad condition origin", `{"path":"a.png","label":1,"provenance":{"conditions":{"blur":"magic"}}}`, Record{}, `applied by "magic"`},
		{"negative label", `{"path":"a.png","label":-2}`, Record{}, `"label" = -2: want a class index >= 0`},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			got, err := ParseManifestLine([]byte(tc.line))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one saying %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v\nwant %+v", got, tc.want)
			}
			line, err := got.MarshalLine()
			if err != nil {
				t.Fatal(err)
			}
			again, err := ParseManifestLine(line)
			if err != nil || !reflect.DeepEqual(again, got) {
				t.Errorf("re-parsing %s gave %+v, %v", line, again, err)
			}
		})
	}
}

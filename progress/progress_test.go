package progress

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// TestJSONLines: with --log-format json every line is one JSON object a log collector can read:
// a Logf line as msg, a bar's end with its task, counts and seconds.
func TestJSONLines(t *testing.T) {
	var buf bytes.Buffer
	out, q := Out, Quiet
	defer func() { Out, Quiet = out, q; _ = SetFormat("text") }()
	Out, Quiet = &buf, false
	if err := SetFormat("json"); err != nil {
		t.Fatal(err)
	}
	Logf("== %s", "r1/generate")
	b := New(10, "generate")
	b.Add(10, "accepted 10")
	b.Done()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("got %d lines, want 2 (a log line and the bar's end):\n%s", len(lines), buf.String())
	}
	var first, last map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatalf("line 1 is not JSON: %v: %s", err, lines[0])
	}
	if first["msg"] != "== r1/generate" || first["level"] != "INFO" || first["time"] == nil {
		t.Errorf("line 1 = %v, want msg %q, level INFO and a time", first, "== r1/generate")
	}
	if err := json.Unmarshal([]byte(lines[1]), &last); err != nil {
		t.Fatalf("line 2 is not JSON: %v: %s", err, lines[1])
	}
	if last["msg"] != "done" || last["task"] != "generate" || last["done"] != 10.0 || last["total"] != 10.0 || last["note"] != "accepted 10" {
		t.Errorf("line 2 = %v, want the bar's end (task generate, done 10 of 10, note)", last)
	}
	if _, ok := last["seconds"].(float64); !ok {
		t.Errorf("line 2 = %v, want seconds", last)
	}
}

func TestSetFormat(t *testing.T) {
	defer func() { _ = SetFormat("text") }()
	for _, c := range []struct {
		in   string
		json bool
		err  bool
	}{{"", false, false}, {"text", false, false}, {"json", true, false}, {"xml", false, true}} {
		JSON = false
		err := SetFormat(c.in)
		if (err != nil) != c.err || JSON != c.json {
			t.Errorf("SetFormat(%q): JSON %v err %v; want JSON %v, error %v", c.in, JSON, err, c.json, c.err)
		}
		if err != nil && !strings.Contains(err.Error(), "xml") {
			t.Errorf("SetFormat(%q): %v does not name the value", c.in, err)
		}
	}
}

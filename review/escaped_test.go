package review

import (
	"image"
	"net/http"
	"strings"
	"testing"

	"github.com/gam-native/gam-native/data"
)

// TestImageOfAnEscapedClassFolder (issue 22, item 1): a queued image in the folder of a class
// whose name holds "/" (t-shirt%2Ftop, data.ClassFolder) is served at the URL the page builds
// (each segment escaped: %252F), and decided by its path.
func TestImageOfAnEscapedClassFolder(t *testing.T) {
	dir := t.TempDir()
	folder := data.ClassFolder(testClasses[0])
	if folder != "t-shirt%2Ftop" {
		t.Fatalf("folder %q", folder)
	}
	writeRun(t, dir, []image.Image{testImage(0)}, func(int) data.Record {
		r := queueRecord(0)
		r.Path = "images/" + folder + "/r1_t0_000000.png"
		return r
	})
	s := newTestServer(t, dir, Options{Reviewer: "ann"})
	url := "/img/images/" + strings.ReplaceAll(folder, "%", "%25") + "/r1_t0_000000.png"
	if rec := do(s, http.MethodGet, url, "", nil); rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "image/png" {
		t.Fatalf("GET %s: %d %s", url, rec.Code, rec.Body.String())
	}
	body := `{"paths":["images/` + folder + `/r1_t0_000000.png"],"decision":"accept","reviewer":"ann"}`
	if rec := do(s, http.MethodPost, "/api/decide", body, jsonHeader); rec.Code != http.StatusOK {
		t.Fatalf("decide: %d %s", rec.Code, rec.Body.String())
	}
}

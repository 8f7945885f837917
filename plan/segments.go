package plan

import (
	"fmt"
	"strings"
)

// Attribute names of the model contract v1, in the column order of Predictions.Attrs.
const (
	AttrBlur        = "blur"
	AttrShadow      = "shadow"
	AttrLowContrast = "low_contrast"
	AttrNoise       = "noise"
)

// AttrNames is the default column order of per-image attributes.
var AttrNames = []string{AttrBlur, AttrShadow, AttrLowContrast, AttrNoise}

// Segment bucket names. An image belongs to the bucket of every condition whose severity is at least
// the threshold, so a blurry and noisy image counts in both; "clean" holds images with none.
const (
	BucketBlurry      = "blurry"
	BucketShadow      = "shadow"
	BucketLowContrast = "low_contrast"
	BucketNoisy       = "noisy"
	BucketClean       = "clean"
)

// Buckets lists the segment buckets in report order: one per attribute, then clean.
var Buckets = []string{BucketBlurry, BucketShadow, BucketLowContrast, BucketNoisy, BucketClean}

// DefaultSeverityThreshold is the severity from which an image counts as in a condition.
const DefaultSeverityThreshold = 0.5

var attrBucket = map[string]string{
	AttrBlur: BucketBlurry, AttrShadow: BucketShadow, AttrLowContrast: BucketLowContrast, AttrNoise: BucketNoisy,
}

var bucketAttr = map[string]string{
	BucketBlurry: AttrBlur, BucketShadow: AttrShadow, BucketLowContrast: AttrLowContrast, BucketNoisy: AttrNoise,
}

// BucketOf names the segment bucket of a contract attribute ("blur" -> "blurry").
func BucketOf(attr string) (string, bool) { b, ok := attrBucket[attr]; return b, ok }

// AttrOf names the contract attribute of a bucket ("blurry" -> "blur"); clean has none.
func AttrOf(bucket string) (string, bool) { a, ok := bucketAttr[bucket]; return a, ok }

func bucketIndex(bucket string) int {
	for i, b := range Buckets {
		if b == bucket {
			return i
		}
	}
	return -1
}

// SegmentID is the unit name used in tables, JSON and feedback: "coat" or "coat/blurry".
func SegmentID(className, bucket string) string {
	if bucket == "" {
		return className
	}
	return fmt.Sprintf("%s/%s", className, bucket)
}

// SplitID parses a unit ID against the class names: a whole class name ("coat", "T-shirt/top"),
// or a class name, "/" and a segment bucket ("coat/blurry", "T-shirt/top/blurry"). A class name
// may hold "/", so the ID is not cut at its first one: the longest class name it starts with wins.
func SplitID(id string, classes []string) (class int, bucket string, ok bool) {
	class = -1
	for i, c := range classes {
		if c == id {
			return i, "", true
		}
		if rest, found := strings.CutPrefix(id, c+"/"); found && bucketIndex(rest) >= 0 && (class < 0 || len(c) > len(classes[class])) {
			class, bucket = i, rest
		}
	}
	return class, bucket, class >= 0
}

// cutKnownClass splits id after the longest class name it starts with (followed by "/").
func cutKnownClass(id string, classes []string) (string, string) {
	best := ""
	for _, c := range classes {
		if strings.HasPrefix(id, c+"/") && len(c) > len(best) {
			best = c
		}
	}
	if best == "" {
		cls, seg, _ := strings.Cut(id, "/")
		return cls, seg
	}
	return best, id[len(best)+1:]
}

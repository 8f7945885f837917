package data

// SegmentClean is the segment of images with no condition over threshold.
const SegmentClean = "clean"

// segmentNames are the adjectives used in "class x condition" segment
// names, in AttrNames order.
var segmentNames = [NumAttrs]string{"blurry", "shadow", "low_contrast", "noisy"}

// SegmentNames lists every segment: clean, then one per condition.
func SegmentNames() []string {
	return append([]string{SegmentClean}, segmentNames[:]...)
}

// SegmentOf names an image's segment: the condition with the largest
// severity if that is above zero and at least threshold (ties go to the
// earlier condition in AttrNames), else "clean".
func SegmentOf(attrs []float32, threshold float64) string {
	best := -1
	for k := range min(len(attrs), NumAttrs) {
		if attrs[k] > 0 && float64(attrs[k]) >= threshold && (best < 0 || attrs[k] > attrs[best]) {
			best = k
		}
	}
	if best < 0 {
		return SegmentClean
	}
	return segmentNames[best]
}

// ConditionOfSegment maps a segment name back to its condition ("" for clean).
func ConditionOfSegment(segment string) (string, bool) {
	if segment == SegmentClean {
		return "", true
	}
	for k, s := range segmentNames {
		if s == segment {
			return AttrNames[k], true
		}
	}
	return "", false
}

// SegmentKey names a class x condition segment, e.g. "shirt/blurry".
func SegmentKey(class, segment string) string { return class + "/" + segment }

// Segments gives each image's segment key; all are clean without Attrs.
func (d *Dataset) Segments(threshold float64) []string {
	out := make([]string, d.Len())
	for i := range out {
		out[i] = SegmentKey(d.ClassNames[d.Labels[i]], SegmentOf(d.AttrsOf(i), threshold))
	}
	return out
}

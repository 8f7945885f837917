// Command shapes writes a synthetic ImageFolder (data.Shapes: one coloured shape per image, five
// classes, imbalanced) to try `gam-native run` on data of your own kind:
//
//	go run ./scripts/shapes [-size 32] [-channels 3] DIR
//
// DIR/train/<class>/*.png (500, 250, 120, 60, 30 images), DIR/val/ and DIR/test/ (20 per class).
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/gam-native/gam-native/data"
)

func main() {
	size := flag.Int("size", 32, "image height and width")
	channels := flag.Int("channels", 3, "1 (grayscale) or 3 (RGB)")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: go run ./scripts/shapes [-size 32] [-channels 3] DIR")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	dir := flag.Arg(0)
	for i, s := range []struct {
		split  string
		counts []int
	}{
		{"train", []int{500, 250, 120, 60, 30}},
		{"val", []int{20, 20, 20, 20, 20}},
		{"test", []int{20, 20, 20, 20, 20}},
	} {
		ds, err := data.Shapes(s.counts, *channels, *size, uint64(i+1))
		if err == nil {
			err = data.WriteSplitFolder(dir, s.split, ds)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "shapes:", err)
			os.Exit(1)
		}
	}
	fmt.Printf("wrote %s/train, val and test: %dx%d, %d channel(s), classes %v\n", dir, *size, *size, *channels, data.ShapeClasses)
}

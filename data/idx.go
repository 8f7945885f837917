package data

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
)

// IDX type code for unsigned bytes, the only one image and label sets use.
const idxUint8 = 0x08

// deflate cannot expand more than about 1032:1, so a header that claims
// more than that is lying. Within that bound, memory is reserved up front
// only for what a typical ratio would give (IDX images compress about
// 2:1), so a small crafted file cannot make us allocate gigabytes before
// its data runs out.
const (
	maxDeflateRatio     = 1032
	reserveDeflateRatio = 16
)

var u8ToF32 = func() (t [256]float32) {
	for i := range t {
		t[i] = float32(i) / 255
	}
	return t
}()

// ReadIDX reads an IDX image file (N x H x W unsigned bytes) and its label
// file (N unsigned bytes), each gzipped or not. Class names are "0".."max".
func ReadIDX(imagesPath, labelsPath string) (*Dataset, error) {
	var (
		wg           sync.WaitGroup
		n, h, w      int
		pix          []float32
		labels       []int64
		errImg, errL error
	)
	wg.Go(func() { n, h, w, pix, errImg = readIDXImagesFile(imagesPath) })
	wg.Go(func() { labels, errL = readIDXLabelsFile(labelsPath) })
	wg.Wait()
	if err := errors.Join(errImg, errL); err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(imagesPath)
	if err != nil {
		return nil, err
	}
	return assembleIDX(abs, n, h, w, pix, labels, labelsPath)
}

func assembleIDX(imagesRef string, n, h, w int, pix []float32, labels []int64, labelsName string) (*Dataset, error) {
	if len(labels) != n {
		return nil, fmt.Errorf("%s has %d images but %s has %d labels", imagesRef, n, labelsName, len(labels))
	}
	var maxLabel int64 = -1
	for _, l := range labels {
		maxLabel = max(maxLabel, l)
	}
	names := make([]string, maxLabel+1)
	for i := range names {
		names[i] = strconv.Itoa(i)
	}
	refs := make([]string, n)
	prefix := "idx:" + imagesRef + "#"
	for i := range refs {
		refs[i] = prefix + strconv.Itoa(i)
	}
	return &Dataset{
		Name: filepath.Base(imagesRef), ClassNames: names, C: 1, H: h, W: w,
		Images: pix, Labels: labels, Refs: refs,
	}, nil
}

func readIDXImagesFile(path string) (n, h, w int, pix []float32, err error) {
	err = withIDXFile(path, func(src idxSource) error {
		n, h, w, pix, err = decodeIDXImages(path, src)
		return err
	})
	return
}

func readIDXLabelsFile(path string) (labels []int64, err error) {
	err = withIDXFile(path, func(src idxSource) error {
		labels, err = decodeIDXLabels(path, src)
		return err
	})
	return
}

func withIDXFile(path string, fn func(idxSource) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	src, err := idxStream(path, f, st.Size())
	if err != nil {
		return err
	}
	return fn(src)
}

// idxSource is an IDX stream with what its size tells about its content.
type idxSource struct {
	r       io.Reader
	bound   int64 // no more bytes than this can come out
	reserve int64 // bytes worth allocating before any arrive
}

// idxStream undoes gzip when the data starts with gzip's magic (1f 8b; an
// IDX file starts with 00 00).
func idxStream(name string, r io.Reader, size int64) (idxSource, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	magic, _ := br.Peek(2)
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return idxSource{}, fmt.Errorf("%s: bad gzip header: %w", name, err)
		}
		return idxSource{zr, size*maxDeflateRatio + 1024, size*reserveDeflateRatio + 1024}, nil
	}
	return idxSource{br, size, size}, nil
}

// readIDXHeader checks the magic and returns the dimensions and the number
// of data bytes they promise.
func readIDXHeader(name string, r io.Reader, wantDims int, bound int64) ([]int, int64, error) {
	var magic [4]byte
	if _, err := io.ReadFull(r, magic[:]); err != nil {
		return nil, 0, fmt.Errorf("%s: no IDX header: %w", name, readErr(err))
	}
	want := [4]byte{0, 0, idxUint8, byte(wantDims)}
	if magic != want {
		return nil, 0, fmt.Errorf("%s: wrong IDX magic 0x%08x (want 0x%08x: %d-dim unsigned bytes)",
			name, binary.BigEndian.Uint32(magic[:]), binary.BigEndian.Uint32(want[:]), wantDims)
	}
	raw := make([]byte, 4*wantDims)
	if _, err := io.ReadFull(r, raw); err != nil {
		return nil, 0, fmt.Errorf("%s: IDX header cut short: %w", name, readErr(err))
	}
	dims := make([]int, wantDims)
	for i := range dims {
		dims[i] = int(binary.BigEndian.Uint32(raw[4*i:]))
	}
	total := int64(1)
	for _, d := range dims {
		if d == 0 {
			total = 0
			break
		}
		// Divided, not multiplied: four uint32s can overflow int64.
		if total > bound/int64(d) {
			return nil, 0, fmt.Errorf("%s: IDX header dimensions %v need more bytes than the file can hold (at most %d)",
				name, dims, bound)
		}
		total *= int64(d)
	}
	return dims, total, nil
}

// readErr names the way a stream ended early.
func readErr(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("unexpected end of data (truncated file or gzip stream)")
	}
	return err
}

// idxChunk is the unit of the read pipeline: big enough to amortise the
// hand-off, small enough to stay in cache while it is converted.
const idxChunk = 1 << 18

// readIDXBody streams exactly total bytes to sink in order, then insists
// the stream ends there (which also makes gzip verify its checksum). For
// large bodies a goroutine decompresses while the caller converts, so the
// two costs overlap on two cores instead of adding up.
func readIDXBody(name string, r io.Reader, total int64, sink func(chunk []byte)) error {
	if total <= idxChunk {
		buf := make([]byte, total)
		got, err := io.ReadFull(r, buf)
		sink(buf[:got])
		if err != nil {
			return fmt.Errorf("%s: data ends after %d of %d bytes: %w", name, got, total, readErr(err))
		}
		return checkIDXEnd(name, r, total)
	}
	const nbuf = 4
	full := make(chan []byte, nbuf)
	free := make(chan []byte, nbuf)
	for range nbuf {
		free <- make([]byte, idxChunk)
	}
	var err error
	go func() {
		defer close(full)
		for off := int64(0); off < total; {
			buf := <-free
			got, rerr := io.ReadFull(r, buf[:min(idxChunk, total-off)])
			off += int64(got)
			if got > 0 {
				full <- buf[:got]
			}
			if rerr != nil {
				err = fmt.Errorf("%s: data ends after %d of %d bytes: %w", name, off, total, readErr(rerr))
				return
			}
		}
		err = checkIDXEnd(name, r, total)
	}()
	for b := range full {
		sink(b)
		free <- b[:cap(b)]
	}
	return err // written before close(full), so read safely after the loop
}

func checkIDXEnd(name string, r io.Reader, total int64) error {
	var one [1]byte
	got, err := r.Read(one[:])
	for got == 0 && err == nil {
		got, err = r.Read(one[:])
	}
	switch {
	case got > 0:
		return fmt.Errorf("%s: trailing bytes after the %d data bytes the IDX header promises", name, total)
	case errors.Is(err, io.EOF):
		return nil
	default:
		return fmt.Errorf("%s: after the data: %w", name, readErr(err))
	}
}

func decodeIDXImages(name string, src idxSource) (n, h, w int, pix []float32, err error) {
	dims, total, err := readIDXHeader(name, src.r, 3, src.bound)
	if err != nil {
		return 0, 0, 0, nil, err
	}
	n, h, w = dims[0], dims[1], dims[2]
	if n > 0 && (h == 0 || w == 0) {
		return 0, 0, 0, nil, fmt.Errorf("%s: %d images of size %dx%d", name, n, h, w)
	}
	pix = make([]float32, 0, min(total, src.reserve))
	err = readIDXBody(name, src.r, total, func(chunk []byte) {
		off := len(pix)
		pix = slices.Grow(pix, len(chunk))[:off+len(chunk)]
		dst := pix[off : off+len(chunk)]
		for i, b := range chunk {
			dst[i] = u8ToF32[b]
		}
	})
	if err != nil {
		return 0, 0, 0, nil, err
	}
	return n, h, w, pix, nil
}

func decodeIDXLabels(name string, src idxSource) ([]int64, error) {
	_, total, err := readIDXHeader(name, src.r, 1, src.bound)
	if err != nil {
		return nil, err
	}
	labels := make([]int64, 0, min(total, src.reserve))
	err = readIDXBody(name, src.r, total, func(chunk []byte) {
		for _, b := range chunk {
			labels = append(labels, int64(b))
		}
	})
	if err != nil {
		return nil, err
	}
	return labels, nil
}

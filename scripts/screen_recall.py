"""How a classifier (a GAM screen) treats the real Fashion-MNIST test images, per class: recall,
the share of real images that pass the screen at probability 0.9 and 0.5 (argmax right and the
probability at least that), and the 10th and 50th percentile of its probability of the true class.

    /usr/bin/python3 scripts/screen_recall.py RUN/seed0/screen.pt

docs/efficacy-log.md ("The screen that passes no shirt") quotes its output for the efficacy benchmark's
shared screen of seed 0.
"""
import gzip
import sys

import numpy as np
import torch

DATA = "/usr/share/datasets/fashion-mnist/"
NAMES = ["tshirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "boot"]


def idx(name: str, offset: int) -> np.ndarray:
    with gzip.open(DATA + name) as fh:
        return np.frombuffer(fh.read(), np.uint8, offset=offset)


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    x = idx("t10k-images-idx3-ubyte.gz", 16).reshape(-1, 1, 28, 28).astype(np.float32) / 255
    y = idx("t10k-labels-idx1-ubyte.gz", 8).astype(np.int64)
    screen = torch.jit.load(sys.argv[1])
    with torch.no_grad():
        p = torch.softmax(screen(torch.from_numpy(x)), 1).numpy()
    for c, name in enumerate(NAMES):
        pc, right = p[y == c, c], p[y == c].argmax(1) == c
        print(f"{name:8s} recall {right.mean():.3f}  pass@0.9 {((pc >= 0.9) & right).mean():.3f}  "
              f"pass@0.5 {((pc >= 0.5) & right).mean():.3f}  p10 {np.percentile(pc, 10):.3f} p50 {np.median(pc):.3f}")


if __name__ == "__main__":
    main()

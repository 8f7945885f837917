"""Script the zoo's models to TorchScript (untrained weights, deterministic for --seed).

    /usr/bin/python3 zoo/export.py --out DIR [--seed 0]
        [--image-shape C,H,W] [--num-classes K] [--latent-dim L] [--attr-names blur,shadow]
        [--only cvae,cnn]

Writes DIR/cvae.pt, cvae_conv.pt, cgan.pt, cnn.pt, screen.pt, cgan_conv.pt (or only the models
named by --only) and prints one line per file. Idempotent:
a file whose bytes would not change is left untouched (its mtime too), and every write
goes to a temporary file in DIR, fsynced, then renamed over the old one.
"""
import argparse
import io
import os
import sys
import tempfile

# TorchScript writes some module constants in set order, which follows Python's
# per-process string hashing: fix the hash seed so that equal models give equal bytes.
if os.environ.get("PYTHONHASHSEED") != "0":
    os.environ["PYTHONHASHSEED"] = "0"
    os.execv(sys.executable, [sys.executable] + sys.argv)

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

from cgan import CGAN  # noqa: E402
from cgan_conv import ConvCGAN  # noqa: E402
from cnn import CNN  # noqa: E402
from cvae import CVAE, ConvCVAE  # noqa: E402
from screen import Screen  # noqa: E402


def write_if_changed(path: str, data: bytes) -> str:
    try:
        with open(path, "rb") as f:
            if f.read() == data:
                return "unchanged"
    except FileNotFoundError:
        pass
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path) or ".", prefix=".tmp-", suffix=".pt")
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it 0600
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    return "wrote"


def save_scripted(module: torch.nn.Module, path: str) -> str:
    """Script module and save it to path; returns a one-line summary."""
    scripted = torch.jit.script(module.eval())
    buf = io.BytesIO()
    torch.jit.save(scripted, buf)
    data = buf.getvalue()
    action = write_if_changed(path, data)
    params = sum(p.numel() for p in module.parameters())
    contract = getattr(module, "gam_contract", "?")
    return f"{action:9s} {path}  {contract} {type(module).__name__} params={params} bytes={len(data)}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="output folder (created if missing)")
    ap.add_argument("--seed", type=int, default=0, help="weight initialisation seed")
    ap.add_argument("--image-shape", default="1,28,28", help="C,H,W (H and W multiples of 4; zoo/README.md says what each size gets)")
    ap.add_argument("--num-classes", type=int, default=10)
    ap.add_argument("--latent-dim", type=int, default=None, help="default: cvae 16, cgan and cgan_conv 64")
    ap.add_argument("--attr-names", default="blur,shadow", help='comma-separated; "" for none')
    ap.add_argument("--only", default="", help="comma-separated models to export (cvae, cvae_conv, cgan, cnn, screen, cgan_conv); default: all")
    a = ap.parse_args()

    shape = [int(d) for d in a.image_shape.split(",")]
    if len(shape) != 3 or min(shape) < 1:
        ap.error("--image-shape wants C,H,W")
    attrs = [s for s in a.attr_names.split(",") if s]
    gen = dict(num_classes=a.num_classes, image_shape=shape, attr_names=attrs)
    if a.latent_dim is not None:
        gen["latent_dim"] = a.latent_dim
    cls = dict(num_classes=a.num_classes, image_shape=shape)

    models = [
        ("cvae.pt", lambda: CVAE(**gen)),
        ("cvae_conv.pt", lambda: ConvCVAE(**gen)),
        ("cgan.pt", lambda: CGAN(**gen)),
        ("cnn.pt", lambda: CNN(**cls)),
        ("screen.pt", lambda: Screen(**cls)),
        # last: scripting it first would renumber the TorchScript type names in the files after it
        ("cgan_conv.pt", lambda: ConvCGAN(**gen)),
    ]
    only = [s for s in a.only.split(",") if s]
    known = [n[: -len(".pt")] for n, _ in models]
    for o in only:
        if o not in known:
            ap.error(f"--only: unknown model {o!r} (known: {', '.join(known)})")
    torch.set_num_threads(1)
    os.makedirs(a.out, exist_ok=True)
    for name, make in models:
        if only and name[: -len(".pt")] not in only:
            continue
        torch.manual_seed(a.seed)  # per model, so that each file depends only on the seed
        print(save_scripted(make(), os.path.join(a.out, name)), flush=True)


if __name__ == "__main__":
    main()

"""Check exported zoo models (and fixtures) against contract v1 from Python.

    /usr/bin/python3 zoo/selftest.py DIR [DIR ...]

Looks for the zoo's files (cvae.pt, cvae_conv.pt, cgan.pt, cgan_conv.pt, cnn.pt, screen.pt) and the fixtures
(zoo/fixtures.py) in the given folders and checks every one it finds: attributes,
method shapes and ranges on a batch of 4, determinism, gradients through sample(),
a save/reload round trip, and ~20 optimiser steps lowering the loss on a fixed batch.
Exits 1 on the first failure, 2 when it found nothing to check.
"""
import io
import os
import sys
import time
from typing import Callable, Dict, List

sys.dont_write_bytecode = True

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

N = 4
STEPS = 20


def check(cond: bool, msg: str) -> None:
    if not cond:
        raise AssertionError(msg)


def inputs(m, seed: int = 0):
    """A fixed batch for m: images in [0, 1], labels, attrs, latents."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand([N] + list(m.image_shape), generator=g)
    y = torch.arange(N) % m.num_classes
    a = len(m.attr_names) if hasattr(m, "attr_names") else 0
    attrs = torch.rand(N, a, generator=g)
    z = torch.randn(N, m.latent_dim, generator=g) if hasattr(m, "latent_dim") else None
    return x, y, attrs, z


def reload(m):
    buf = io.BytesIO()
    torch.jit.save(m, buf)
    buf.seek(0)
    return torch.jit.load(buf)


def descend(params, loss_fn: Callable[[], torch.Tensor], what: str) -> str:
    """STEPS Adam steps on loss_fn; the last loss must be below the first."""
    opt = torch.optim.Adam(params, lr=1e-3)
    first = last = 0.0
    for i in range(STEPS):
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        opt.step()
        last = loss.item()
        first = last if i == 0 else first
    check(last < first, f"{what} did not go down: {first:.4f} -> {last:.4f}")
    return f"{what} {first:.4f}->{last:.4f}"


def check_generator(m, trainable: bool = True) -> str:
    check(m.gam_contract == "gam.generator/v1", f"gam_contract {m.gam_contract!r}")
    check(m.kind in ("vae", "gan"), f"kind {m.kind!r}")
    check(isinstance(m.num_classes, int) and isinstance(m.latent_dim, int), "int attributes")
    check(isinstance(m.attr_names, list) and all(isinstance(s, str) for s in m.attr_names), "attr_names")
    check(len(m.image_shape) == 3, "image_shape is [C, H, W]")
    x, y, attrs, z = inputs(m)
    torch.manual_seed(0)

    s = m.sample(z, y, attrs)
    check(list(s.shape) == [N] + list(m.image_shape), f"sample shape {list(s.shape)}")
    check(s.dtype == torch.float32 and 0 <= s.min().item() and s.max().item() <= 1, "sample in [0, 1]")
    check(torch.equal(s, m.sample(z, y, attrs)), "sample is deterministic for fixed z")
    zg = z.clone().requires_grad_(True)
    m.sample(zg, y, attrs).sum().backward()
    check(zg.grad is not None and zg.grad.abs().sum().item() > 0, "sample is differentiable in z")
    m.zero_grad()

    c = m.confidence(x, y, attrs)
    check(list(c.shape) == [N], f"confidence shape {list(c.shape)}")
    check(0 <= c.min().item() and c.max().item() <= 1, "confidence in [0, 1]")
    check(torch.equal(c, m.confidence(x, y, attrs)), "confidence is deterministic")
    check(torch.equal(s, reload(m).sample(z, y, attrs)), "save/reload gives the same samples")
    out = f"{m.kind} latent={m.latent_dim} attrs={m.attr_names} sample{list(s.shape)} conf=[{c.min():.3f},{c.max():.3f}]"

    if not trainable:
        check(not m._c._has_method("loss") and not m._c._has_method("d_loss"), "frozen: no loss")
        return out + " frozen"
    if m.kind == "vae":
        l = m.loss(x, y, attrs)
        check(list(l.shape) == [N] and torch.isfinite(l).all().item(), f"loss shape {list(l.shape)}")
        out += " | " + descend(m.parameters(), lambda: m.loss(x, y, attrs).mean(), "loss")
    else:
        gen, disc = m.generator, m.discriminator
        check(m.d_loss(x, z, y, attrs).dim() == 0 and m.g_loss(z, y, attrs).dim() == 0, "GAN losses are scalars")
        # d_loss must not reach the generator (its fakes are detached).
        m.d_loss(x, z, y, attrs).backward()
        check(all(p.grad is None or p.grad.abs().sum() == 0 for p in gen.parameters()), "d_loss leaves G alone")
        m.zero_grad()
        out += " | " + descend(disc.parameters(), lambda: m.d_loss(x, z, y, attrs), "d_loss")
        out += ", " + descend(gen.parameters(), lambda: m.g_loss(z, y, attrs), "g_loss")
    return out


def check_classifier(m, train: bool) -> str:
    check(m.gam_contract == "gam.classifier/v1", f"gam_contract {m.gam_contract!r}")
    x, y, _, _ = inputs(m)
    logits = m(x)
    check(list(logits.shape) == [N, m.num_classes], f"forward shape {list(logits.shape)}")
    e = m.embed(x)
    check(e.dim() == 2 and e.shape[0] == N, f"embed shape {list(e.shape)}")
    check(torch.equal(logits, reload(m)(x)), "save/reload gives the same logits")
    out = f"classes={m.num_classes} logits{list(logits.shape)} embed{list(e.shape)}"
    if train:
        out += " | " + descend(m.parameters(), lambda: F.cross_entropy(m(x), y), "cross-entropy")
    return out


def expect_load_error(path: str) -> str:
    try:
        torch.jit.load(path)
    except Exception as e:  # noqa: BLE001
        return "refused by torch.jit.load: " + str(e).strip().splitlines()[0][:70]
    raise AssertionError("torch.jit.load accepted it")


def flaw(cond: bool, what: str) -> Callable[[object], str]:
    def f(m) -> str:
        check(cond(m), "flaw missing: " + what)
        return "has its flaw: " + what
    return f


def sample_shape_flaw(m) -> str:
    _, y, attrs, z = inputs(m)
    shape = list(m.sample(z, y, attrs).shape)
    check(shape != [N] + list(m.image_shape), "sample shape matches image_shape")
    return f"has its flaw: sample{shape} vs image_shape {list(m.image_shape)}"


def classes_flaw(m) -> str:
    shape = list(m(torch.rand([N] + list(m.image_shape))).shape)
    check(shape[1] != m.num_classes, "forward matches num_classes")
    return f"has its flaw: forward{shape} vs num_classes {m.num_classes}"


CHECKS: Dict[str, Callable] = {
    # the zoo
    "cvae.pt": check_generator,
    "cvae_conv.pt": check_generator,
    "cgan.pt": check_generator,
    "cgan_conv.pt": check_generator,
    "cnn.pt": lambda m: check_classifier(m, train=True),
    "screen.pt": lambda m: check_classifier(m, train=False),
    # fixtures: good ones
    "foreign_vae.pt": check_generator,
    "frozen_gen.pt": lambda m: check_generator(m, trainable=False),
    # fixtures: bad ones, checked to carry exactly the flaw they are named for
    "no_sample.pt": flaw(lambda m: not m._c._has_method("sample") and m._c._has_method("confidence"), "no sample"),
    "no_confidence.pt": flaw(lambda m: m._c._has_method("sample") and not m._c._has_method("confidence"), "no confidence"),
    "wrong_contract.pt": flaw(lambda m: m.gam_contract == "gam.generator/v9", "gam.generator/v9"),
    "wrong_attr_type.pt": flaw(lambda m: isinstance(m.num_classes, str), "num_classes is a str"),
    "sample_argcount.pt": flaw(lambda m: len(m.sample.schema.arguments) == 3, "sample(self, z, y)"),
    "sample_shape.pt": sample_shape_flaw,
    "classifier_wrong_classes.pt": classes_flaw,
    "not_torchscript.pt": None,
    "state_dict.pt": None,
}


def main() -> int:
    dirs: List[str] = sys.argv[1:]
    if not dirs:
        print(__doc__)
        return 2
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    # Adam's second moments of tiny GAN gradients go denormal and make CPU steps ~4x slower.
    torch.set_flush_denormal(True)
    seen = 0
    for name, fn in CHECKS.items():
        path = next((os.path.join(d, name) for d in dirs if os.path.exists(os.path.join(d, name))), None)
        if path is None:
            continue
        seen += 1
        t0 = time.perf_counter()
        try:
            out = expect_load_error(path) if fn is None else fn(torch.jit.load(path))
        except AssertionError as e:
            print(f"FAIL {name}: {e}")
            return 1
        print(f"ok   {name:28s} {time.perf_counter() - t0:5.2f}s  {out}")
    if seen == 0:
        print("selftest: no model files found in", " ".join(dirs))
        return 2
    print(f"selftest: {seen} files ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())

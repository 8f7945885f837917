"""Test fixtures for the engine's contract checks: models that break contract v1 in one
way each, plus two good generators that are not the zoo's.

    /usr/bin/python3 zoo/fixtures.py --out DIR

bad (each must be refused at load, with a message naming the problem):
  no_sample.pt                 generator without `sample`
  no_confidence.pt             generator without `confidence`
  wrong_contract.pt            gam_contract = "gam.generator/v9"
  wrong_attr_type.pt           num_classes is a str ("10")
  sample_argcount.pt           sample(z, y): 2 arguments instead of 3
  sample_shape.pt              sample returns [N, 1, 14, 14], image_shape says [1, 28, 28]
  classifier_wrong_classes.pt  forward returns [N, 5], num_classes = 10
  not_torchscript.pt           4 KiB of random bytes
  state_dict.pt                a torch.save()d state_dict (a pickle, the usual mistake)
good:
  foreign_vae.pt   a conv / conv-transpose VAE, attr_names [], latent 8, trainable (`loss`)
  frozen_gen.pt    a generator without training members: used as it comes
  nan_vae.pt       the zoo cVAE, but sample() returns NaN for some rows (pipeline NaN test)
null (the bench's pipeline_null: the pipeline with model work that is nearly free):
  null_gen.pt      1x8x8, 3 classes, latent 4, no attrs: sample() writes y / 2 into every pixel,
                   confidence() is 1; no parameters, no training members
  null_screen.pt   1x8x8, 3 classes: forward() reads the class back from the first pixel, so
                   every image of null_gen.pt is accepted with probability ~1
The others are 28x28 grayscale with 10 classes; all are deterministic, written atomically.
"""
import argparse
import io
import os
import random
import sys
from typing import List

if os.environ.get("PYTHONHASHSEED") != "0":  # byte-identical output, see export.py
    os.environ["PYTHONHASHSEED"] = "0"
    os.execv(sys.executable, [sys.executable] + sys.argv)

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import Tensor, nn  # noqa: E402

from export import write_if_changed  # noqa: E402
from cvae import CVAE  # noqa: E402


class _Gen(nn.Module):
    """A tiny linear generator with every contract attribute. out_shape is what sample()
    really produces; image_shape is what the module declares."""

    gam_contract: str
    kind: str
    num_classes: int
    latent_dim: int
    attr_names: List[str]
    image_shape: List[int]
    out_shape: List[int]

    def __init__(self, contract: str = "gam.generator/v1", out_shape=(1, 28, 28)):
        super().__init__()
        self.gam_contract = contract
        self.kind = "vae"
        self.num_classes = 10
        self.latent_dim = 8
        self.attr_names = ["blur"]
        self.image_shape = [1, 28, 28]
        self.out_shape = list(out_shape)
        n = self.out_shape[0] * self.out_shape[1] * self.out_shape[2]
        self.dec = nn.Linear(self.latent_dim + self.num_classes + len(self.attr_names), n)

    def _decode(self, z: Tensor, y: Tensor, attrs: Tensor) -> Tensor:
        c = torch.cat([z, F.one_hot(y, self.num_classes).to(z.dtype), attrs], 1)
        s = self.out_shape
        return torch.sigmoid(self.dec(c)).view(-1, s[0], s[1], s[2])

    def _confidence(self, x: Tensor) -> Tensor:
        return torch.sigmoid(x.flatten(1).mean(1))


class GoodGen(_Gen):
    @torch.jit.export
    def sample(self, z: Tensor, y: Tensor, attrs: Tensor) -> Tensor:
        return self._decode(z, y, attrs)

    @torch.jit.export
    def confidence(self, x: Tensor, y: Tensor, attrs: Tensor) -> Tensor:
        return self._confidence(x)


class NoSample(_Gen):
    @torch.jit.export
    def confidence(self, x: Tensor, y: Tensor, attrs: Tensor) -> Tensor:
        return self._confidence(x)


class NoConfidence(_Gen):
    @torch.jit.export
    def sample(self, z: Tensor, y: Tensor, attrs: Tensor) -> Tensor:
        return self._decode(z, y, attrs)


class SampleArgcount(_Gen):
    @torch.jit.export
    def sample(self, z: Tensor, y: Tensor) -> Tensor:
        return self._decode(z, y, torch.zeros(z.size(0), 1))

    @torch.jit.export
    def confidence(self, x: Tensor, y: Tensor, attrs: Tensor) -> Tensor:
        return self._confidence(x)


class WrongAttrType(GoodGen):
    # Annotations are read from the instance's most derived class: repeat them all.
    gam_contract: str
    kind: str
    num_classes: str  # the flaw: should be int
    latent_dim: int
    attr_names: List[str]
    image_shape: List[int]
    out_shape: List[int]

    def __init__(self):
        super().__init__()
        self.num_classes = "10"

    def _decode(self, z: Tensor, y: Tensor, attrs: Tensor) -> Tensor:
        c = torch.cat([z, F.one_hot(y, 10).to(z.dtype), attrs], 1)
        return torch.sigmoid(self.dec(c)).view(-1, 1, 28, 28)


class WrongClasses(nn.Module):
    """Classifier declaring 10 classes whose forward returns 5 logits."""

    gam_contract: str
    num_classes: int
    image_shape: List[int]

    def __init__(self):
        super().__init__()
        self.gam_contract = "gam.classifier/v1"
        self.num_classes = 10
        self.image_shape = [1, 28, 28]
        self.fc = nn.Linear(28 * 28, 5)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc(x.flatten(1))


class ForeignVAE(nn.Module):
    """A team's own generator, unlike the zoo's: convolutional encoder, conv-transpose
    decoder, class-conditioned only (attr_names is empty), latent 8. Good against
    contract v1 and trainable through `loss` (negative ELBO, Bernoulli likelihood)."""

    gam_contract: str
    kind: str
    num_classes: int
    latent_dim: int
    attr_names: List[str]
    image_shape: List[int]

    def __init__(self):
        super().__init__()
        self.gam_contract = "gam.generator/v1"
        self.kind = "vae"
        self.num_classes = 10
        self.latent_dim = 8
        self.attr_names = []  # no conditions: the engine degrades natively after sampling
        self.image_shape = [1, 28, 28]
        self.enc = nn.Sequential(  # 1x28x28 -> 16x14x14 -> 32x7x7
            nn.Conv2d(1, 16, 4, 2, 1), nn.ReLU(), nn.Conv2d(16, 32, 4, 2, 1), nn.ReLU()
        )
        self.to_stats = nn.Linear(32 * 7 * 7 + 10, 2 * self.latent_dim)
        self.from_z = nn.Linear(self.latent_dim + 10, 32 * 7 * 7)
        self.dec = nn.Sequential(  # 32x7x7 -> 16x14x14 -> 1x28x28 (logits)
            nn.ReLU(), nn.ConvTranspose2d(32, 16, 4, 2, 1), nn.ReLU(), nn.ConvTranspose2d(16, 1, 4, 2, 1)
        )

    def _logits(self, z: Tensor, y: Tensor) -> Tensor:
        h = self.from_z(torch.cat([z, F.one_hot(y, 10).to(z.dtype)], 1))
        return self.dec(h.view(-1, 32, 7, 7))

    def _neg_elbo(self, x: Tensor, y: Tensor, stochastic: bool) -> Tensor:
        h = torch.cat([self.enc(x).flatten(1), F.one_hot(y, 10).to(x.dtype)], 1)
        mu, logvar = self.to_stats(h).chunk(2, 1)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar) if stochastic else mu
        rec = F.binary_cross_entropy_with_logits(self._logits(z, y), x, reduction="none").flatten(1).sum(1)
        return rec - 0.5 * (1.0 + logvar - mu.pow(2) - logvar.exp()).sum(1)

    @torch.jit.export
    def sample(self, z: Tensor, y: Tensor, attrs: Tensor) -> Tensor:
        return torch.sigmoid(self._logits(z, y))  # attrs is [N, 0]: ignored

    @torch.jit.export
    def loss(self, x: Tensor, y: Tensor, attrs: Tensor) -> Tensor:
        return self._neg_elbo(x, y, True)

    @torch.jit.export
    def confidence(self, x: Tensor, y: Tensor, attrs: Tensor) -> Tensor:
        return torch.exp(-self._neg_elbo(x, y, False) / 784.0)


class NaNVAE(nn.Module):
    """The zoo's cVAE, except that sample() returns NaN images wherever z[:, 0] > 1 (about 16% of
    standard-normal draws): for testing that the pipeline rejects them with reason "nan"."""

    gam_contract: str
    kind: str
    num_classes: int
    latent_dim: int
    attr_names: List[str]
    image_shape: List[int]

    def __init__(self):
        super().__init__()
        self.inner = CVAE()
        self.gam_contract = self.inner.gam_contract
        self.kind = self.inner.kind
        self.num_classes = self.inner.num_classes
        self.latent_dim = self.inner.latent_dim
        self.attr_names = self.inner.attr_names
        self.image_shape = self.inner.image_shape

    @torch.jit.export
    def sample(self, z: Tensor, y: Tensor, attrs: Tensor) -> Tensor:
        x = self.inner.sample(z, y, attrs)
        bad = (z[:, 0] > 1.0).view(-1, 1, 1, 1)
        return torch.where(bad, torch.full_like(x, float("nan")), x)

    @torch.jit.export
    def confidence(self, x: Tensor, y: Tensor, attrs: Tensor) -> Tensor:
        return self.inner.confidence(x, y, attrs)

    @torch.jit.export
    def loss(self, x: Tensor, y: Tensor, attrs: Tensor) -> Tensor:
        return self.inner.loss(x, y, attrs)


class NullGen(nn.Module):
    """The cheapest generator the contract allows (bench pipeline_null): 1x8x8, 3 classes."""

    gam_contract: str
    kind: str
    num_classes: int
    latent_dim: int
    attr_names: List[str]
    image_shape: List[int]

    def __init__(self):
        super().__init__()
        self.gam_contract = "gam.generator/v1"
        self.kind = "vae"
        self.num_classes = 3
        self.latent_dim = 4
        self.attr_names = []
        self.image_shape = [1, 8, 8]

    @torch.jit.export
    def sample(self, z: Tensor, y: Tensor, attrs: Tensor) -> Tensor:
        v = y.to(z.dtype) / float(self.num_classes - 1)
        return v.view(-1, 1, 1, 1).expand(-1, 1, 8, 8).contiguous()

    @torch.jit.export
    def confidence(self, x: Tensor, y: Tensor, attrs: Tensor) -> Tensor:
        return torch.ones(x.size(0), dtype=x.dtype, device=x.device)


class NullScreen(nn.Module):
    """Reads null_gen.pt's class back from the first pixel: logits -20 (v - k)^2."""

    gam_contract: str
    num_classes: int
    image_shape: List[int]

    def __init__(self):
        super().__init__()
        self.gam_contract = "gam.classifier/v1"
        self.num_classes = 3
        self.image_shape = [1, 8, 8]

    def forward(self, x: Tensor) -> Tensor:
        v = x[:, 0, 0, 0] * float(self.num_classes - 1)
        k = torch.arange(self.num_classes, dtype=x.dtype, device=x.device)
        return -20.0 * (v.unsqueeze(1) - k.unsqueeze(0)) ** 2


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    torch.set_num_threads(1)

    def save(name: str, data: bytes, what: str) -> None:
        print(f"{write_if_changed(os.path.join(a.out, name), data):9s} {os.path.join(a.out, name)}  {what}")

    def script(name: str, make, what: str) -> None:
        torch.manual_seed(0)
        buf = io.BytesIO()
        torch.jit.save(torch.jit.script(make()), buf)
        save(name, buf.getvalue(), what)

    script("no_sample.pt", NoSample, "bad: generator without sample")
    script("no_confidence.pt", NoConfidence, "bad: generator without confidence")
    script("wrong_contract.pt", lambda: GoodGen("gam.generator/v9"), "bad: gam_contract gam.generator/v9")
    script("wrong_attr_type.pt", WrongAttrType, "bad: num_classes is a str")
    script("sample_argcount.pt", SampleArgcount, "bad: sample(z, y) takes 2 arguments")
    script("sample_shape.pt", lambda: GoodGen(out_shape=(1, 14, 14)), "bad: sample returns [N,1,14,14]")
    script("classifier_wrong_classes.pt", WrongClasses, "bad: forward returns [N,5], num_classes 10")
    save("not_torchscript.pt", random.Random(0).randbytes(4096), "bad: random bytes")
    torch.manual_seed(0)
    buf = io.BytesIO()
    torch.save(ForeignVAE().state_dict(), buf)
    save("state_dict.pt", buf.getvalue(), "bad: a pickled state_dict, not TorchScript")
    script("foreign_vae.pt", ForeignVAE, "good: conv-transpose VAE, attr_names [], trainable")
    script("frozen_gen.pt", GoodGen, "good: generator without loss (frozen)")
    script("nan_vae.pt", NaNVAE, "good but faulty: the zoo cVAE returning NaN images for z[:, 0] > 1")
    script("null_gen.pt", NullGen, "null: 1x8x8 generator writing its class into the pixels (bench pipeline_null)")
    script("null_screen.pt", NullScreen, "null: 1x8x8 screen reading the class back")


if __name__ == "__main__":
    main()

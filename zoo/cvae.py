"""Conditional VAE: the zoo's default generator (model contract v1, kind "vae").

An MLP on flattened pixels, conditioned on the class and the image conditions:
cond = [one_hot(y), attrs] is concatenated to the encoder's input and to the
decoder's input. The decoder emits logits; `sample` applies a sigmoid so that
pixels are in [0, 1] and the loss is a numerically stable BCE-with-logits.

No BatchNorm or Dropout: outputs do not depend on train()/eval() mode.
"""
from typing import List, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from scale import stages


class CVAE(nn.Module):
    # Contract attributes. Declared here so TorchScript knows their types even
    # when a value cannot tell (an empty attr_names list); they stay ordinary
    # (non-Final) attributes, readable from C++ through module.attr("...").
    gam_contract: str
    kind: str
    num_classes: int
    latent_dim: int
    attr_names: List[str]
    image_shape: List[int]
    num_pixels: int  # C*H*W, not part of the contract

    def __init__(
        self,
        num_classes: int = 10,
        image_shape: Sequence[int] = (1, 28, 28),
        attr_names: Sequence[str] = ("blur", "shadow"),
        latent_dim: int = 16,
        widths: Sequence[int] = (512, 512),
    ):
        super().__init__()
        self.gam_contract = "gam.generator/v1"
        self.kind = "vae"
        self.num_classes = int(num_classes)
        self.latent_dim = int(latent_dim)
        self.attr_names = [str(a) for a in attr_names]
        self.image_shape = [int(d) for d in image_shape]
        self.num_pixels = self.image_shape[0] * self.image_shape[1] * self.image_shape[2]
        cond = self.num_classes + len(self.attr_names)

        def mlp(n_in: int, n_out: int) -> nn.Sequential:
            layers: List[nn.Module] = []
            for w in widths:
                layers += [nn.Linear(n_in, w), nn.ReLU()]
                n_in = w
            layers.append(nn.Linear(n_in, n_out))
            return nn.Sequential(*layers)

        self.encoder = mlp(self.num_pixels + cond, 2 * self.latent_dim)  # -> [mu, logvar]
        self.decoder = mlp(self.latent_dim + cond, self.num_pixels)  # -> pixel logits

    def _cond(self, y: Tensor, attrs: Tensor) -> Tensor:
        return torch.cat([F.one_hot(y, self.num_classes).to(attrs.dtype), attrs], dim=1)

    @torch.jit.export
    def encode(self, x: Tensor, y: Tensor, attrs: Tensor) -> Tuple[Tensor, Tensor]:
        """Optional member: the posterior q(z | x, y, attrs) as (mu, logvar), each [N, latent_dim].

        With it, `generate.latent = "real"` draws z near the latents of real images of the class."""
        h = self.encoder(torch.cat([x.flatten(1), self._cond(y, attrs)], dim=1))
        mu, logvar = h.chunk(2, dim=1)
        return mu, logvar

    def decode_logits(self, z: Tensor, y: Tensor, attrs: Tensor) -> Tensor:
        h = self.decoder(torch.cat([z, self._cond(y, attrs)], dim=1))
        c, hh, ww = self.image_shape[0], self.image_shape[1], self.image_shape[2]
        return h.view(-1, c, hh, ww)

    @torch.jit.export
    def sample(self, z: Tensor, y: Tensor, attrs: Tensor) -> Tensor:
        """[N, latent_dim], [N] int64, [N, A] -> [N, C, H, W] in [0, 1].

        Differentiable w.r.t. z (the hard-example search takes gradient steps on z)."""
        return torch.sigmoid(self.decode_logits(z, y, attrs))

    def _neg_elbo(self, x: Tensor, y: Tensor, attrs: Tensor, stochastic: bool) -> Tensor:
        mu, logvar = self.encode(x, y, attrs)
        # Training draws z with the reparameterisation trick; scoring uses the mean,
        # so that confidence() is deterministic.
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar) if stochastic else mu
        logits = self.decode_logits(z, y, attrs)
        rec = F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)
        kl = -0.5 * (1.0 + logvar - mu.pow(2) - logvar.exp()).sum(1)
        return rec + kl

    @torch.jit.export
    def loss(self, x: Tensor, y: Tensor, attrs: Tensor) -> Tensor:
        """Per-sample negative ELBO [N]: BCE summed over pixels + KL(q(z|x,c) || N(0, I))."""
        return self._neg_elbo(x, y, attrs, True)

    @torch.jit.export
    def confidence(self, x: Tensor, y: Tensor, attrs: Tensor) -> Tensor:
        """[N] in (0, 1]: exp(-negative ELBO / num_pixels), z at the posterior mean.

        That is the geometric mean, per pixel, of the ELBO's likelihood bound: higher means
        x is more plausible for (y, attrs). Its scale depends on the data (BCE of grey
        pixels never reaches 0), so thresholds are calibrated per class elsewhere."""
        return torch.exp(-self._neg_elbo(x, y, attrs, False) / self.num_pixels)


class ConvCVAE(CVAE):
    """The same conditional VAE with convolutions: a strided-conv encoder and a transposed-conv
    decoder (7x7 -> 14x14 -> 28x28 for Fashion-MNIST; H and W must be multiples of 4). Above 32 px
    one more stride-2 conv (and transposed conv) at the second width per doubling while H and W
    stay divisible (scale.py): 64x64 -> 8x8, 128x128 -> 8x8.

    The MLP decodes every pixel from one dense layer, so its images are blurry class means; the
    convolutions share local filters over the image (edges, collars, buttons), which is what a
    scarce class's few images cannot teach a dense layer. Same contract, members and loss."""

    def __init__(
        self,
        num_classes: int = 10,
        image_shape: Sequence[int] = (1, 28, 28),
        attr_names: Sequence[str] = ("blur", "shadow"),
        latent_dim: int = 16,
        channels: Sequence[int] = (32, 64),
    ):
        super().__init__(num_classes, image_shape, attr_names, latent_dim, widths=(8,))
        c, h, w = self.image_shape
        if h % 4 != 0 or w % 4 != 0:
            raise ValueError(f"ConvCVAE: image height and width must be multiples of 4, got {h}x{w}")
        c1, c2 = int(channels[0]), int(channels[1])
        extra = stages(h, w, exact=True) - 2
        self.h4, self.w4, self.c2 = h // (4 << extra), w // (4 << extra), c2
        cond = self.num_classes + len(self.attr_names)
        feat = c2 * self.h4 * self.w4
        enc: List[nn.Module] = [nn.Conv2d(c, c1, 4, 2, 1), nn.ReLU(), nn.Conv2d(c1, c2, 4, 2, 1), nn.ReLU()]
        for _ in range(extra):
            enc += [nn.Conv2d(c2, c2, 4, 2, 1), nn.ReLU()]
        self.enc_conv = nn.Sequential(*enc, nn.Flatten(1))
        self.encoder = nn.Sequential(nn.Linear(feat + cond, 256), nn.ReLU(), nn.Linear(256, 2 * self.latent_dim))
        self.decoder = nn.Sequential(nn.Linear(self.latent_dim + cond, 256), nn.ReLU(), nn.Linear(256, feat), nn.ReLU())
        dec: List[nn.Module] = []
        for _ in range(extra):
            dec += [nn.ConvTranspose2d(c2, c2, 4, 2, 1), nn.ReLU()]
        self.dec_conv = nn.Sequential(
            *dec, nn.ConvTranspose2d(c2, c1, 4, 2, 1), nn.ReLU(), nn.ConvTranspose2d(c1, c, 4, 2, 1)
        )

    @torch.jit.export
    def encode(self, x: Tensor, y: Tensor, attrs: Tensor) -> Tuple[Tensor, Tensor]:
        """The posterior q(z | x, y, attrs) as (mu, logvar), each [N, latent_dim]."""
        h = self.encoder(torch.cat([self.enc_conv(x), self._cond(y, attrs)], dim=1))
        mu, logvar = h.chunk(2, dim=1)
        return mu, logvar

    def decode_logits(self, z: Tensor, y: Tensor, attrs: Tensor) -> Tensor:
        h = self.decoder(torch.cat([z, self._cond(y, attrs)], dim=1))
        return self.dec_conv(h.view(-1, self.c2, self.h4, self.w4))

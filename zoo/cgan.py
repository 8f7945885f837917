"""Conditional GAN: the zoo's alternative generator (model contract v1, kind "gan").

Two small MLPs, both conditioned on cond = [one_hot(y), attrs] concatenated to their
input. Small enough to train on a 2-core CPU in minutes. The contract asks for the
submodules `generator` and `discriminator` (gam-native gives each its own optimizer)
and for `d_loss` / `g_loss`, the non-saturating GAN losses with logits.

No BatchNorm or Dropout: outputs do not depend on train()/eval() mode.
"""
from typing import Callable, List, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def _mlp(n_in: int, widths: Sequence[int], n_out: int, act: Callable[[], nn.Module]) -> nn.Sequential:
    layers: List[nn.Module] = []
    for w in widths:
        layers += [nn.Linear(n_in, w), act()]
        n_in = w
    layers.append(nn.Linear(n_in, n_out))
    return nn.Sequential(*layers)


class CGAN(nn.Module):
    # Contract attributes, typed here so that an empty attr_names still scripts.
    gam_contract: str
    kind: str
    num_classes: int
    latent_dim: int
    attr_names: List[str]
    image_shape: List[int]

    def __init__(
        self,
        num_classes: int = 10,
        image_shape: Sequence[int] = (1, 28, 28),
        attr_names: Sequence[str] = ("blur", "shadow"),
        latent_dim: int = 64,
        widths: Sequence[int] = (256, 512),
    ):
        super().__init__()
        self.gam_contract = "gam.generator/v1"
        self.kind = "gan"
        self.num_classes = int(num_classes)
        self.latent_dim = int(latent_dim)
        self.attr_names = [str(a) for a in attr_names]
        self.image_shape = [int(d) for d in image_shape]
        pixels = self.image_shape[0] * self.image_shape[1] * self.image_shape[2]
        cond = self.num_classes + len(self.attr_names)
        # generator: [z, cond] -> pixel logits; discriminator: [x, cond] -> one logit.
        self.generator = _mlp(self.latent_dim + cond, list(widths), pixels, nn.ReLU)
        self.discriminator = _mlp(pixels + cond, list(reversed(widths)), 1, lambda: nn.LeakyReLU(0.2))

    def _cond(self, y: Tensor, attrs: Tensor) -> Tensor:
        return torch.cat([F.one_hot(y, self.num_classes).to(attrs.dtype), attrs], dim=1)

    def d_logit(self, x: Tensor, y: Tensor, attrs: Tensor) -> Tensor:
        """Discriminator logit [N]: > 0 means "looks real for (y, attrs)"."""
        return self.discriminator(torch.cat([x.flatten(1), self._cond(y, attrs)], dim=1)).squeeze(1)

    @torch.jit.export
    def sample(self, z: Tensor, y: Tensor, attrs: Tensor) -> Tensor:
        """[N, latent_dim], [N] int64, [N, A] -> [N, C, H, W] in [0, 1]; differentiable in z."""
        h = self.generator(torch.cat([z, self._cond(y, attrs)], dim=1))
        c, hh, ww = self.image_shape[0], self.image_shape[1], self.image_shape[2]
        return torch.sigmoid(h).view(-1, c, hh, ww)

    @torch.jit.export
    def confidence(self, x: Tensor, y: Tensor, attrs: Tensor) -> Tensor:
        """[N] in [0, 1]: sigmoid of the discriminator logit, D's belief that x is real."""
        return torch.sigmoid(self.d_logit(x, y, attrs))

    @torch.jit.export
    def d_loss(self, x: Tensor, z: Tensor, y: Tensor, attrs: Tensor) -> Tensor:
        """Scalar discriminator loss: real x -> 1, generated -> 0. The generated images are
        detached, so this loss leaves no gradient on the generator."""
        fake = self.sample(z, y, attrs).detach()
        real_logit = self.d_logit(x, y, attrs)
        fake_logit = self.d_logit(fake, y, attrs)
        return F.binary_cross_entropy_with_logits(
            real_logit, torch.ones_like(real_logit)
        ) + F.binary_cross_entropy_with_logits(fake_logit, torch.zeros_like(fake_logit))

    @torch.jit.export
    def g_loss(self, z: Tensor, y: Tensor, attrs: Tensor) -> Tensor:
        """Scalar non-saturating generator loss: -log D(G(z)). Backward also leaves gradients
        on the discriminator's parameters: the trainer zeroes them before D's next step."""
        fake_logit = self.d_logit(self.sample(z, y, attrs), y, attrs)
        return F.binary_cross_entropy_with_logits(fake_logit, torch.ones_like(fake_logit))

"""Convolutional conditional GAN for small data (model contract v1, kind "gan"; `cgan_conv.pt`).

`models.generator = "zoo:cgan_conv"`. Built to draw texture from the 59-296 images a Fashion-MNIST
long-tail class has, where the MLP GAN (cgan.py) only learns a blurry class mean:

- generator: cond = [embed(y), attrs] -> linear to 4*ch x H/4 x W/4 -> two stages of nearest
  upsample + 3x3 convs, each conv followed by a parameter-free group norm and a class-conditional
  gain and bias (FiLM from cond, the cBN of BigGAN without batch statistics) -> 3x3 conv -> sigmoid.
- discriminator: a projection discriminator (Miyato & Koyama 2018): conv features, global sum
  pool, linear(1) + <embed(y), features> + <proj(attrs), features>. Spectral norm on every layer
  (its own scriptable SN: TorchScript does not run nn.utils.spectral_norm's hooks).
- hinge loss, and DiffAugment (Zhao et al. 2020: brightness, contrast, translation by 1/8,
  cutout of half the size, random per sample) on real and fake images alike inside d_loss and on
  the fakes in g_loss: what keeps D from memorising a hundred images.
- noise at every stage (z is part of every FiLM's condition) and a mode-seeking term in g_loss
  (MSGAN): without them the generator collapsed to one image per class (efficacy log, (c)).
- an exponential moving average of the generator (`generator_ema`, decay 0.999 after a warm-up,
  parameters without gradients and outside `generator`/`discriminator`, so no optimiser touches
  them), updated at the start of every g_loss and used by `sample`.

No BatchNorm or Dropout: outputs do not depend on train()/eval() mode, except that spectral norm's
power iteration advances in train mode only (as nn.utils.spectral_norm does). H and W must be
multiples of 4. Above 32 px (scale.py) the generator starts from a smaller grid with one more
upsample + FiLM conv stage at 4*ch per doubling, and the discriminator has one more stride-2 SN conv
at its widest width per doubling (ConvGeneratorDeep, ProjectionDiscriminatorDeep): 64x64 starts
from 8x8, 128x128 from 8x8.
"""
import copy
from typing import List, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from scale import stages


def _wb(w: Tensor, b: Optional[Tensor]) -> List[Tensor]:
    """[weight, bias] of a layer (bias may be None)."""
    return [w] if b is None else [w, b]


def _spectral(w: Tensor, u: Tensor, training: bool) -> Tensor:
    """w / sigma_max(w as [out, -1]); one power iteration on the buffer u in training mode.

    u and v are constants for autograd (as in nn.utils.spectral_norm); sigma = u^T W v keeps its
    gradient in W."""
    wm = w.flatten(1)
    if training:
        with torch.no_grad():
            v = F.normalize(torch.mv(wm.t(), u), dim=0, eps=1e-12)
            u.copy_(F.normalize(torch.mv(wm, v), dim=0, eps=1e-12))
    uc = u.clone()  # the buffer changes in place on the next call: autograd must not see that
    v = F.normalize(torch.mv(wm.detach().t(), uc), dim=0, eps=1e-12)
    sigma = torch.dot(uc, torch.mv(wm, v))
    return w / sigma


class SNConv2d(nn.Module):
    """Conv2d with spectral norm (scriptable: the weight, a `u` buffer, W / sigma in the op)."""

    stride: int
    padding: int

    def __init__(self, c_in: int, c_out: int, k: int, stride: int = 1, padding: int = 0):
        super().__init__()
        ref = nn.Conv2d(c_in, c_out, k, stride, padding)  # its default initialisation
        self.weight = nn.Parameter(ref.weight.detach().clone())
        self.bias = nn.Parameter(ref.bias.detach().clone())
        self.register_buffer("u", F.normalize(torch.randn(c_out), dim=0, eps=1e-12))
        self.stride, self.padding = int(stride), int(padding)

    def forward(self, x: Tensor) -> Tensor:
        w = _spectral(self.weight, self.u, self.training)
        return F.conv2d(x, w, self.bias, self.stride, self.padding)


class SNLinear(nn.Module):
    """Linear with spectral norm; bias optional."""

    has_bias: bool

    def __init__(self, n_in: int, n_out: int, bias: bool = True):
        super().__init__()
        ref = nn.Linear(n_in, n_out)
        self.weight = nn.Parameter(ref.weight.detach().clone())
        self.bias = nn.Parameter(ref.bias.detach().clone() if bias else torch.zeros(n_out))
        self.has_bias = bool(bias)
        self.register_buffer("u", F.normalize(torch.randn(n_out), dim=0, eps=1e-12))

    def forward(self, x: Tensor) -> Tensor:
        w = _spectral(self.weight, self.u, self.training)
        return F.linear(x, w, self.bias) if self.has_bias else F.linear(x, w)


class SNEmbedding(nn.Module):
    """The projection discriminator's class embedding [K, F], spectrally normalised (as in BigGAN)."""

    def __init__(self, num_classes: int, dim: int):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(num_classes, dim) * (1.0 / dim**0.5))
        self.register_buffer("u", F.normalize(torch.randn(num_classes), dim=0, eps=1e-12))

    def forward(self, y: Tensor) -> Tensor:
        return _spectral(self.weight, self.u, self.training).index_select(0, y)


class FiLMConv(nn.Module):
    """3x3 conv -> group norm without parameters -> (1 + gamma(cond)) * h + beta(cond) -> ReLU."""

    groups: int

    def __init__(self, c_in: int, c_out: int, n_cond: int):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, 3, 1, 1)
        self.film = nn.Linear(n_cond, 2 * c_out)
        nn.init.zeros_(self.film.weight)  # starts as plain group norm: gain 1, bias 0
        nn.init.zeros_(self.film.bias)
        g = 8
        while c_out % g != 0:
            g //= 2
        self.groups = g

    def forward(self, x: Tensor, cond: Tensor) -> Tensor:
        h = F.group_norm(self.conv(x), self.groups)
        gamma, beta = self.film(cond).unsqueeze(2).unsqueeze(3).chunk(2, dim=1)
        return F.relu(h * (1.0 + gamma) + beta)

    def tensors(self) -> List[Tensor]:
        return _wb(self.conv.weight, self.conv.bias) + _wb(self.film.weight, self.film.bias)


class ConvGenerator(nn.Module):
    """[embed(y), attrs, z] -> 4ch x H/4 x W/4 -> up, conv 2ch -> up, conv ch, conv ch -> C, sigmoid;
    every conv's FiLM gain and bias see the same [embed(y), attrs, z], so the noise reaches every
    stage (with z at the first layer only, the class code carried the image and z was ignored).

    ch = 32 (128-64-32 channels) by default: ~0.7 s per batch of 128 on 2 CPU cores (~85 s per
    epoch of 14,642 images);
    ch = 64 costs about three times that."""

    num_classes: int
    c0: int
    h4: int
    w4: int

    def __init__(self, num_classes: int, image_shape: Sequence[int], num_attrs: int, latent_dim: int, ch: int, embed_dim: int):
        super().__init__()
        c, h, w = [int(d) for d in image_shape]
        self.num_classes = int(num_classes)
        self.c0, self.h4, self.w4 = 4 * ch, h // 4, w // 4
        n_cond = embed_dim + num_attrs + latent_dim  # z reaches every FiLM, not only the first layer
        self.embed = nn.Embedding(num_classes, embed_dim)
        self.fc = nn.Linear(n_cond, self.c0 * self.h4 * self.w4)
        self.b1 = FiLMConv(4 * ch, 2 * ch, n_cond)  # H/2
        self.b2 = FiLMConv(2 * ch, ch, n_cond)  # H
        self.b3 = FiLMConv(ch, ch, n_cond)  # H
        self.out = nn.Conv2d(ch, c, 3, 1, 1)

    def forward(self, z: Tensor, y: Tensor, attrs: Tensor) -> Tensor:
        cond = torch.cat([self.embed(y), attrs.to(z.dtype), z], dim=1)
        h = F.relu(self.fc(cond)).view(-1, self.c0, self.h4, self.w4)
        h = self.b1(F.interpolate(h, scale_factor=2.0, mode="nearest"), cond)
        h = self.b2(F.interpolate(h, scale_factor=2.0, mode="nearest"), cond)
        h = self.b3(h, cond)
        return torch.sigmoid(self.out(h))

    def tensors(self) -> List[Tensor]:
        """Every parameter, in a fixed order (TorchScript has no Module.parameters())."""
        out = [self.embed.weight] + _wb(self.fc.weight, self.fc.bias)
        out += self.b1.tensors()
        out += self.b2.tensors()
        out += self.b3.tensors()
        return out + _wb(self.out.weight, self.out.bias)


class ProjectionDiscriminator(nn.Module):
    """SN convs 32 -> 64 (/2) -> 128 (/2) -> 128, LeakyReLU 0.2, global sum pool, then
    linear(1) + <embed(y), h> + <proj(attrs), h>."""

    num_attrs: int

    def __init__(self, num_classes: int, image_shape: Sequence[int], num_attrs: int, channels: Sequence[int]):
        super().__init__()
        c = int(image_shape[0])
        c1, c2, c3 = [int(v) for v in channels]
        self.num_attrs = int(num_attrs)
        self.c1 = SNConv2d(c, c1, 3, 1, 1)
        self.c2 = SNConv2d(c1, c2, 3, 2, 1)  # H/2
        self.c3 = SNConv2d(c2, c3, 3, 2, 1)  # H/4
        self.c4 = SNConv2d(c3, c3, 3, 1, 1)
        self.linear = SNLinear(c3, 1)
        self.embed = SNEmbedding(num_classes, c3)
        self.proj_attrs = SNLinear(max(1, self.num_attrs), c3, bias=False)  # unused without attrs

    def forward(self, x: Tensor, y: Tensor, attrs: Tensor) -> Tensor:
        h = F.leaky_relu(self.c1(x), 0.2)
        h = F.leaky_relu(self.c2(h), 0.2)
        h = F.leaky_relu(self.c3(h), 0.2)
        h = F.leaky_relu(self.c4(h), 0.2)
        h = h.sum(dim=[2, 3])
        out = self.linear(h).squeeze(1) + (self.embed(y) * h).sum(1)
        if self.num_attrs > 0:
            out = out + (self.proj_attrs(attrs.to(h.dtype)) * h).sum(1)
        return out


class ConvGeneratorDeep(ConvGenerator):
    """ConvGenerator for images above 32 px: `extra` more upsample + FiLM conv stages (4ch -> 4ch)
    before b1, from a grid of H/2^(2+extra)."""

    def __init__(self, num_classes: int, image_shape: Sequence[int], num_attrs: int, latent_dim: int, ch: int, embed_dim: int, extra: int):
        super().__init__(num_classes, image_shape, num_attrs, latent_dim, ch, embed_dim)
        c, h, w = [int(d) for d in image_shape]
        self.h4, self.w4 = h // (4 << extra), w // (4 << extra)
        n_cond = embed_dim + num_attrs + latent_dim
        self.fc = nn.Linear(n_cond, self.c0 * self.h4 * self.w4)
        self.pre = nn.ModuleList([FiLMConv(4 * ch, 4 * ch, n_cond) for _ in range(extra)])

    def forward(self, z: Tensor, y: Tensor, attrs: Tensor) -> Tensor:
        cond = torch.cat([self.embed(y), attrs.to(z.dtype), z], dim=1)
        h = F.relu(self.fc(cond)).view(-1, self.c0, self.h4, self.w4)
        for b in self.pre:
            h = b(F.interpolate(h, scale_factor=2.0, mode="nearest"), cond)
        h = self.b1(F.interpolate(h, scale_factor=2.0, mode="nearest"), cond)
        h = self.b2(F.interpolate(h, scale_factor=2.0, mode="nearest"), cond)
        h = self.b3(h, cond)
        return torch.sigmoid(self.out(h))

    def tensors(self) -> List[Tensor]:
        out = [self.embed.weight] + _wb(self.fc.weight, self.fc.bias)
        for b in self.pre:
            out += b.tensors()
        out += self.b1.tensors()
        out += self.b2.tensors()
        out += self.b3.tensors()
        return out + _wb(self.out.weight, self.out.bias)


class ProjectionDiscriminatorDeep(ProjectionDiscriminator):
    """ProjectionDiscriminator for images above 32 px: `extra` more stride-2 SN convs (c3 -> c3)
    after c3."""

    def __init__(self, num_classes: int, image_shape: Sequence[int], num_attrs: int, channels: Sequence[int], extra: int):
        super().__init__(num_classes, image_shape, num_attrs, channels)
        c3 = int(channels[2])
        self.down = nn.ModuleList([SNConv2d(c3, c3, 3, 2, 1) for _ in range(extra)])

    def forward(self, x: Tensor, y: Tensor, attrs: Tensor) -> Tensor:
        h = F.leaky_relu(self.c1(x), 0.2)
        h = F.leaky_relu(self.c2(h), 0.2)
        h = F.leaky_relu(self.c3(h), 0.2)
        for d in self.down:
            h = F.leaky_relu(d(h), 0.2)
        h = F.leaky_relu(self.c4(h), 0.2)
        h = h.sum(dim=[2, 3])
        out = self.linear(h).squeeze(1) + (self.embed(y) * h).sum(1)
        if self.num_attrs > 0:
            out = out + (self.proj_attrs(attrs.to(h.dtype)) * h).sum(1)
        return out


def diff_augment(x: Tensor) -> Tensor:
    """DiffAugment's color, translation and cutout (Zhao et al. 2020), random per sample and
    differentiable in x: brightness +-0.5, contrast x0.5-1.5, shift by up to 1/8 of the size with
    zero padding, one zeroed square of half the size."""
    n, h, w = x.size(0), x.size(2), x.size(3)
    dev = x.device
    x = x + (torch.rand(n, 1, 1, 1, device=dev, dtype=x.dtype) - 0.5)
    mean = x.mean(dim=[1, 2, 3], keepdim=True)
    x = (x - mean) * (torch.rand(n, 1, 1, 1, device=dev, dtype=x.dtype) + 0.5) + mean
    # translation: out[i, j] = in[i - ty, j - tx], zero outside (index a 1-pixel zero border)
    sy, sx = int(h * 0.125 + 0.5), int(w * 0.125 + 0.5)
    ty = torch.randint(-sy, sy + 1, [n, 1, 1], device=dev)
    tx = torch.randint(-sx, sx + 1, [n, 1, 1], device=dev)
    gb = torch.arange(n, device=dev).view(n, 1, 1)
    gy = torch.clamp(torch.arange(h, device=dev).view(1, h, 1) + ty + 1, 0, h + 1)
    gx = torch.clamp(torch.arange(w, device=dev).view(1, 1, w) + tx + 1, 0, w + 1)
    xp = F.pad(x, [1, 1, 1, 1]).permute(0, 2, 3, 1)
    x = xp[gb, gy, gx].permute(0, 3, 1, 2)
    # cutout: a square of half the size centred anywhere in the image
    ch, cw = int(h * 0.5 + 0.5), int(w * 0.5 + 0.5)
    oy = torch.randint(0, h + (1 - ch % 2), [n, 1, 1], device=dev) - ch // 2
    ox = torch.randint(0, w + (1 - cw % 2), [n, 1, 1], device=dev) - cw // 2
    ry = torch.arange(h, device=dev).view(1, h, 1)
    rx = torch.arange(w, device=dev).view(1, 1, w)
    cut = (ry >= oy) & (ry < oy + ch) & (rx >= ox) & (rx < ox + cw)
    return x * (~cut).unsqueeze(1).to(x.dtype)


class ConvCGAN(nn.Module):
    # Contract attributes, typed here so that an empty attr_names still scripts.
    gam_contract: str
    kind: str
    num_classes: int
    latent_dim: int
    attr_names: List[str]
    image_shape: List[int]
    ema_decay: float  # not part of the contract
    mode_seeking: float  # the weight of the mode-seeking term in g_loss; 0 turns it off

    def __init__(
        self,
        num_classes: int = 10,
        image_shape: Sequence[int] = (1, 28, 28),
        attr_names: Sequence[str] = ("blur", "shadow"),
        latent_dim: int = 64,
        g_channels: int = 32,
        d_channels: Sequence[int] = (32, 64, 128),
        embed_dim: int = 64,
        ema_decay: float = 0.999,
        mode_seeking: float = 0.05,
    ):
        super().__init__()
        self.gam_contract = "gam.generator/v1"
        self.kind = "gan"
        self.num_classes = int(num_classes)
        self.latent_dim = int(latent_dim)
        self.attr_names = [str(a) for a in attr_names]
        self.image_shape = [int(d) for d in image_shape]
        c, h, w = self.image_shape
        if h % 4 != 0 or w % 4 != 0:
            raise ValueError(f"ConvCGAN: image height and width must be multiples of 4, got {h}x{w}")
        self.ema_decay = float(ema_decay)
        self.mode_seeking = float(mode_seeking)
        a = len(self.attr_names)
        extra = stages(h, w, exact=True) - 2
        if extra == 0:
            self.generator = ConvGenerator(self.num_classes, self.image_shape, a, self.latent_dim, int(g_channels), int(embed_dim))
            self.discriminator = ProjectionDiscriminator(self.num_classes, self.image_shape, a, d_channels)
        else:
            self.generator = ConvGeneratorDeep(self.num_classes, self.image_shape, a, self.latent_dim, int(g_channels), int(embed_dim), extra)
            self.discriminator = ProjectionDiscriminatorDeep(self.num_classes, self.image_shape, a, d_channels, extra)
        # The EMA copy: same start, no gradients, in neither optimiser's submodule.
        self.generator_ema = copy.deepcopy(self.generator)
        for p in self.generator_ema.parameters():
            p.requires_grad_(False)
        self.register_buffer("ema_updates", torch.zeros(()))

    def _update_ema(self) -> None:
        """generator_ema <- d * generator_ema + (1 - d) * generator, d = min(ema_decay, (1+t)/(10+t)):
        the warm-up lets a short training run's average follow the generator."""
        with torch.no_grad():
            t = self.ema_updates
            d = torch.clamp((1.0 + t) / (10.0 + t), max=self.ema_decay)
            for pe, p in zip(self.generator_ema.tensors(), self.generator.tensors()):
                pe.lerp_(p.detach(), 1.0 - d)
            self.ema_updates.add_(1.0)

    @torch.jit.export
    def sample(self, z: Tensor, y: Tensor, attrs: Tensor) -> Tensor:
        """[N, latent_dim], [N] int64, [N, A] -> [N, C, H, W] in [0, 1] from the EMA generator;
        differentiable in z."""
        return self.generator_ema(z, y, attrs)

    @torch.jit.export
    def confidence(self, x: Tensor, y: Tensor, attrs: Tensor) -> Tensor:
        """[N] in [0, 1]: sigmoid of the discriminator logit on x as it is (no augmentation)."""
        return torch.sigmoid(self.discriminator(x, y, attrs))

    @torch.jit.export
    def d_loss(self, x: Tensor, z: Tensor, y: Tensor, attrs: Tensor) -> Tensor:
        """Hinge loss relu(1 - D(aug(real))) + relu(1 + D(aug(fake))); the fakes are made without
        a graph, so this loss leaves no gradient on the generator."""
        with torch.no_grad():
            fake = self.generator(z, y, attrs)
        n = x.size(0)
        both = diff_augment(torch.cat([x.to(fake.dtype), fake.detach()], dim=0))
        logit = self.discriminator(both, torch.cat([y, y], dim=0), torch.cat([attrs, attrs], dim=0))
        return F.relu(1.0 - logit[:n]).mean() + F.relu(1.0 + logit[n:]).mean()

    @torch.jit.export
    def g_loss(self, z: Tensor, y: Tensor, attrs: Tensor) -> Tensor:
        """-D(aug(G(z))) + mode_seeking / (|G(z1) - G(z2)| / |z1 - z2| + 1e-5) (MSGAN, Mao et al.
        2019): the batch's second half takes the first half's classes and attributes, so each pair
        (z1, z2) is one condition under two noises, and a generator that maps both to one image pays
        for it. First folds the generator as it is now into the EMA copy (one step of lag).
        Backward also fills D's gradients: the trainer zeroes them before D's next step."""
        self._update_ema()
        n = z.size(0)
        h = n // 2
        if self.mode_seeking <= 0.0 or h == 0:
            return -self.discriminator(diff_augment(self.generator(z, y, attrs)), y, attrs).mean()
        yp = torch.cat([y[:h], y[:h], y[2 * h:]], dim=0)
        ap = torch.cat([attrs[:h], attrs[:h], attrs[2 * h:]], dim=0)
        fake = self.generator(z, yp, ap)
        adv = -self.discriminator(diff_augment(fake), yp, ap).mean()
        dx = (fake[:h] - fake[h:2 * h]).abs().mean(dim=[1, 2, 3])
        dz = (z[:h] - z[h:2 * h]).abs().mean(dim=1)
        return adv + self.mode_seeking / ((dx / dz).mean() + 1e-5)

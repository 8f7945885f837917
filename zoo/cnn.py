"""The zoo's target classifier (model contract v1, "gam.classifier/v1").

(conv3 -> ReLU -> maxpool2) x 2 -> fc -> ReLU -> fc, 16/32 channels and fc128 by default:
the CNN of the efficacy protocol (docs/efficacy.md, "Protocol"). Input: [N, C, H, W] float32 in [0, 1], used as is.
Above 32 px one more (conv3 at the second width -> ReLU -> maxpool2) per doubling (scale.py), so
the fc layer sees 6 to 11 px a side whatever the image size.
"""
from typing import List, Sequence

import torch
from torch import Tensor, nn

from scale import stages


class CNN(nn.Module):
    # Contract attributes (typed so TorchScript keeps them as readable attributes).
    gam_contract: str
    num_classes: int
    image_shape: List[int]

    def __init__(
        self,
        num_classes: int = 10,
        image_shape: Sequence[int] = (1, 28, 28),
        widths: Sequence[int] = (16, 32, 128),  # conv1 channels, conv2 channels, fc features
    ):
        super().__init__()
        self.gam_contract = "gam.classifier/v1"
        self.num_classes = int(num_classes)
        self.image_shape = [int(d) for d in image_shape]
        c, h, w = self.image_shape
        c1, c2, fc = widths
        layers: List[nn.Module] = [
            nn.Conv2d(c, c1, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        ]
        # Each 2x2 pool floors H and W to H//2, W//2 (28x28 -> 7x7 after the first two).
        fh, fw = h // 4, w // 4
        for _ in range(stages(h, w) - 2):
            layers += [nn.Conv2d(c2, c2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
            fh, fw = fh // 2, fw // 2
        self.features = nn.Sequential(*layers)
        self.fc = nn.Sequential(nn.Linear(c2 * fh * fw, fc), nn.ReLU())
        self.head = nn.Linear(fc, self.num_classes)

    @torch.jit.export
    def embed(self, x: Tensor) -> Tensor:
        """[N, C, H, W] -> [N, fc] penultimate features (after the ReLU), for duplicate and
        off-domain checks."""
        return self.fc(self.features(x).flatten(1))

    def forward(self, x: Tensor) -> Tensor:
        """[N, C, H, W] in [0, 1] -> [N, num_classes] logits."""
        return self.head(self.embed(x))

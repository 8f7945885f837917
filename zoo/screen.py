"""The zoo's screen: a lighter classifier (contract "gam.classifier/v1") that pre-screens
generated images (off-domain, or predicted label != intended label).

Same shape as the target CNN with a quarter of its compute: 8/16 channels, fc64. It is
trained on the original data only, so that it judges generated images independently of
the target model. Train it with class-balanced sampling: a screen trained on long-tailed
data rarely predicts tail classes and rejects the tail images the plan asked for
(docs/efficacy.md, "Protocol", and docs/job.md).
"""
from typing import Sequence

from cnn import CNN


class Screen(CNN):
    def __init__(
        self,
        num_classes: int = 10,
        image_shape: Sequence[int] = (1, 28, 28),
        widths: Sequence[int] = (8, 16, 64),
    ):
        super().__init__(num_classes, image_shape, widths)

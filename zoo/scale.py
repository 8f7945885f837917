"""How the zoo's convolutional models grow with the image: one down-sampling stage per doubling.

Every conv model halves the image twice up to 32 px (28x28 -> 7x7, 32x32 -> 8x8, as the zoo has
always done) and adds one stride-2 stage (or pool, or upsample) per doubling above that, so that
its smallest grid stays between 6 and 11 px: 48-95 px get 3 stages (64 -> 8x8), 96-191 px get 4
(128 -> 8x8). zoo/README.md has the table.
"""


def stages(h: int, w: int, exact: bool = False) -> int:
    """Down-sampling stages for an H x W image (at least 2). exact: only while H and W stay
    divisible (strided convs and their transposes must invert each other exactly)."""
    s = 2
    while min(h, w) // (2 ** s) >= 12:
        if exact and (h % (2 ** (s + 1)) != 0 or w % (2 ** (s + 1)) != 0):
            break
        s += 1
    return s

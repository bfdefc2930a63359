#!/usr/bin/python3
"""Outside reference for tests/t_ssim.sh: scikit-image SSIM on the planes
tierpress compares (docs/ssim.md).

usage: ssim_ref.py A.png B.png [A2.png B2.png ...]
Prints one JSON object per pair: ssim, ssim_cb, ssim_cr (skimage
structural_similarity, gaussian_weights=True, sigma=1.5,
use_sample_covariance=False, data_range=255, on float64 planes) and
min_tile (the lowest mean of a full 64x64 tile of skimage's map cropped by
5 pixels; the mean when no full tile fits)."""
import json
import sys

import numpy as np
from skimage.io import imread
from skimage.metrics import structural_similarity

TILE = 64
PAD = 5


def planes(path):
    x = imread(path).astype(np.float64)
    if x.ndim == 2:
        x = np.stack([x] * 3, -1)
    if x.shape[2] in (2, 4):  # alpha over white
        a = x[..., -1:] / 255.0
        x = x[..., :-1] * a + 255.0 * (1 - a)
        if x.shape[2] == 1:
            x = np.repeat(x, 3, -1)
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    return [0.299 * r + 0.587 * g + 0.114 * b,
            128 - 0.168736 * r - 0.331264 * g + 0.5 * b,
            128 + 0.5 * r - 0.418688 * g - 0.081312 * b]


def compare(pa, pb):
    out = {}
    for name, a, b in zip(("ssim", "ssim_cb", "ssim_cr"), planes(pa), planes(pb)):
        mean, full = structural_similarity(a, b, gaussian_weights=True, sigma=1.5,
                                           use_sample_covariance=False, data_range=255,
                                           full=True)
        out[name] = float(mean)
        if name == "ssim":
            c = full[PAD:-PAD, PAD:-PAD]
            ny, nx = c.shape[0] // TILE, c.shape[1] // TILE
            if nx and ny:
                t = c[:ny * TILE, :nx * TILE].reshape(ny, TILE, nx, TILE).mean(axis=(1, 3))
                out["min_tile"] = float(t.min())
            else:
                out["min_tile"] = float(mean)
    return out


def main():
    args = sys.argv[1:]
    if not args or len(args) % 2:
        sys.exit(__doc__)
    for i in range(0, len(args), 2):
        print(json.dumps(compare(args[i], args[i + 1])))


if __name__ == "__main__":
    main()

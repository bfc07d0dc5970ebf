"""MS-SSIM (Wang, Simoncelli, Bovik 2003), matching Wang's ``msssim.m`` + ``ssim_index_new.m``.

Grey input (RGB -> MATLAB uint8 ``rgb2gray``). For scales ``l = 1..5``: ``SSIM_l`` and ``CS_l``
are the means of the SSIM and contrast-structure maps of :func:`biqa_jax.fr_iqa.ssim.ssim_maps`
(11x11 Gaussian sigma 1.5, 'valid', no automatic downsampling); between scales both images go
through ``imfilter(., ones(2)/4, 'symmetric', 'same')`` and ``(1:2:end, 1:2:end)``.

  ``MS-SSIM = prod_{l=1..4} CS_l^{w_l} * SSIM_5^{w_5}``, ``w = [0.0448 0.2856 0.3001 0.2363 0.1333]``.

Direction: higher is better; range <= 1; identical images give 1. Symmetric. Minimum size 176
(``min(H, W) / 2^4 >= 11``, msssim.m's check). A negative ``CS_l`` makes the power complex in
MATLAB; here it gives NaN (only for extreme distortions).

Not the 0.6733 of pyiqa's calibration table for TID2013 I03 (that is another implementation);
``msssim.m`` run in Octave gives 0.66998, which this reproduces (fr_iqa.md §5).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from biqa_jax.fr_iqa import _matlab
from biqa_jax.fr_iqa.ssim import grey, ssim_maps

DIRECTION = "higher"
MIN_SIZE = 176
WEIGHTS = np.array([0.0448, 0.2856, 0.3001, 0.2363, 0.1333])


def _ms_ssim_pair(ref: jax.Array, dist: jax.Array) -> jax.Array:
  x, y = grey(ref), grey(dist)
  mssim, mcs = [], []
  for level in range(len(WEIGHTS)):
    ssim_map, cs_map = ssim_maps(x, y)
    mssim.append(jnp.mean(ssim_map))
    mcs.append(jnp.mean(cs_map))
    if level < len(WEIGHTS) - 1:
      x = _matlab.box_downsample(x, 2, "symmetric")
      y = _matlab.box_downsample(y, 2, "symmetric")
  weights = jnp.asarray(WEIGHTS, dtype=x.dtype)
  return jnp.prod(jnp.stack(mcs[:-1]) ** weights[:-1]) * mssim[-1] ** weights[-1]


def ms_ssim(ref: jax.Array, dist: jax.Array) -> jax.Array:
  """MS-SSIM. ``ref, dist: [..., H, W, C]`` (C = 1 or 3) on the 0-255 scale -> ``[...]``."""
  return _matlab.over_batch(_ms_ssim_pair, ref, dist)

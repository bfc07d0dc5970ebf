"""NLPD, Normalized Laplacian Pyramid Distance (Laparra, Ballé, Berardino, Simoncelli 2016),
matching the authors' ``NLP_dist.m`` (first output, ``DMOS_Lap_dn2``).

Grey input in [0, 1]: RGB -> MATLAB uint8 ``rgb2gray``, then ``/ 255`` (grey input ``/ 255``).
Laplacian pyramid with 6 levels and the Burt-Adelson filter ``f' f``, ``f = [.05 .25 .4 .25 .05]``:
down = ``imfilter(J, filter, 'symmetric')`` then ``(1:2:end, 1:2:end)``; up = replicate-pad 1,
zero-insert x2 with value ``4 I``, ``imfilter`` (zero padding), crop ``3 : end-2-odd``; band
``k`` = ``J_k - up(J_{k+1})``, band 6 = the low-pass residual. Each band is divisively normalised,
``Y_k = L_k / (sigma_k + conv2(|L_k|, F2_k, 'same'))`` with the script's learned ``sigma_k`` and
filters ``F2_k`` (including level 1's 0.0072 tap two pixels right of centre, which pyiqa omits);

  ``NLPD = mean_k sqrt(mean((Y_k(ref) - Y_k(dist))^2))``.

Direction: lower is better; range 0 ... ~1; identical images give 0. Symmetric. Minimum size 32x32
(a choice: 5 halvings down to one pixel; ``NLP_dist.m`` itself runs on smaller images).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from biqa_jax.fr_iqa import _matlab
from biqa_jax.fr_iqa.ssim import grey

DIRECTION = "lower"
MIN_SIZE = 32
N_LEVELS = 6
_F = np.array([0.05, 0.25, 0.4, 0.25, 0.05])
BURT_ADELSON = np.outer(_F, _F)
SIGMAS = (0.0248, 0.0185, 0.0179, 0.0191, 0.0220, 0.2782)


def _dn_filters() -> list[np.ndarray]:
  """``DN_filters`` of NLP_dist.m: one 5x5 ``F2`` per level."""
  level1 = np.zeros((5, 5))
  level1[1, 2], level1[2, 1], level1[2, 3], level1[2, 4], level1[3, 2] = 0.1011, 0.1493, 0.1460, 0.0072, 0.1015
  inner = [[[0, 0.0757, 0], [0.1986, 0, 0.1846], [0, 0.0837, 0]],
           [[0, 0.0477, 0], [0.2138, 0, 0.2243], [0, 0.0467, 0]],
           [[0, 0, 0], [0.2503, 0, 0.2616], [0, 0, 0]],
           [[0, 0, 0], [0.2598, 0, 0.2552], [0, 0, 0]],
           [[0, 0, 0], [0.2215, 0, 0.0717], [0, 0, 0]]]
  filters = [level1]
  for taps in inner:
    f2 = np.zeros((5, 5))
    f2[1:4, 1:4] = taps
    filters.append(f2)
  return filters


DN_FILTERS = _dn_filters()


def _down(image: jax.Array) -> jax.Array:
  padded = jnp.pad(image, 2, mode="symmetric")
  return _matlab.filter2_valid(padded, BURT_ADELSON)[::2, ::2]


def _up(low: jax.Array, odd: tuple[int, int]) -> jax.Array:
  padded = jnp.pad(low, 1, mode="edge")
  rows, cols = 2 * padded.shape[0], 2 * padded.shape[1]
  zero_filled = jnp.zeros((rows, cols), low.dtype).at[::2, ::2].set(4 * padded)
  filtered = _matlab.filter2_valid(jnp.pad(zero_filled, 2), BURT_ADELSON)
  return filtered[2:rows - 2 - odd[0], 2:cols - 2 - odd[1]]


def normalized_laplacian_pyramid(image: jax.Array) -> list[jax.Array]:
  """``NLP`` of NLP_dist.m: ``[H, W]`` in [0, 1] -> 6 divisively normalised bands."""
  bands = []
  current = image
  for _ in range(N_LEVELS - 1):
    low = _down(current)
    odd = (2 * low.shape[0] - current.shape[0], 2 * low.shape[1] - current.shape[1])
    bands.append(current - _up(low, odd))
    current = low
  bands.append(current)
  return [band / (sigma + _matlab.conv2_same(jnp.abs(band), f2))
          for band, sigma, f2 in zip(bands, SIGMAS, DN_FILTERS)]


def _nlpd_pair(ref: jax.Array, dist: jax.Array) -> jax.Array:
  y1 = normalized_laplacian_pyramid(grey(ref) / 255)
  y2 = normalized_laplacian_pyramid(grey(dist) / 255)
  return jnp.mean(jnp.stack([jnp.sqrt(jnp.mean((a - b) ** 2)) for a, b in zip(y1, y2)]))


def nlpd(ref: jax.Array, dist: jax.Array) -> jax.Array:
  """NLPD. ``ref, dist: [..., H, W, C]`` (C = 1 or 3) on the 0-255 scale -> ``[...]``."""
  return _matlab.over_batch(_nlpd_pair, ref, dist)

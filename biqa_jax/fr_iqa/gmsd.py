"""GMSD (Xue, Zhang, Mou, Bovik 2014), matching Xue's ``GMSD.m``.

Grey input (RGB -> MATLAB uint8 ``rgb2gray``). Both images: ``conv2(., ones(2)/4, 'same')``
(zero padding) and ``(1:2:end, 1:2:end)``; Prewitt gradients ``conv2(., [1 0 -1; 1 0 -1; 1 0 -1]/3, 'same')``
and its transpose; ``m = sqrt(Ix^2 + Iy^2)``;

  ``GMS = (2 m_r m_d + T) / (m_r^2 + m_d^2 + T)``, ``T = 170``; ``GMSD = std2(GMS)`` (N-1 normalisation).

Direction: lower is better; range 0 ... <1; identical images give 0. Symmetric. Minimum size 4x4
(2x2 after the fixed downsampling, so that the N-1 standard deviation is defined).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from biqa_jax.fr_iqa import _matlab
from biqa_jax.fr_iqa.ssim import grey

DIRECTION = "lower"
MIN_SIZE = 4
T = 170.0
PREWITT_X = np.array([[1, 0, -1], [1, 0, -1], [1, 0, -1]], dtype=np.float64) / 3


def gradient_magnitude(image: jax.Array, kernel_x: np.ndarray) -> jax.Array:
  """``sqrt(conv2(I, kx, 'same')^2 + conv2(I, kx', 'same')^2)`` for ``[H, W]`` ``image``."""
  ix = _matlab.conv2_same(image, kernel_x)
  iy = _matlab.conv2_same(image, kernel_x.T)
  return jnp.sqrt(ix * ix + iy * iy)


def _gmsd_pair(ref: jax.Array, dist: jax.Array) -> jax.Array:
  x = _matlab.box_downsample(grey(ref), 2, "zero")
  y = _matlab.box_downsample(grey(dist), 2, "zero")
  m_x = gradient_magnitude(x, PREWITT_X)
  m_y = gradient_magnitude(y, PREWITT_X)
  gms = (2 * m_x * m_y + T) / (m_x * m_x + m_y * m_y + T)
  return jnp.std(gms, ddof=1)


def gmsd(ref: jax.Array, dist: jax.Array) -> jax.Array:
  """GMSD. ``ref, dist: [..., H, W, C]`` (C = 1 or 3) on the 0-255 scale -> ``[...]``."""
  return _matlab.over_batch(_gmsd_pair, ref, dist)

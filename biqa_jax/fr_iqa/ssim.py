"""SSIM (Wang, Bovik, Sheikh, Simoncelli 2004), matching Wang's ``ssim.m`` (2009, "with automatic
downsampling") and, with ``downsample=False``, ``ssim_index.m``.

For grey images ``x = ref``, ``y = dist`` (RGB is first converted with MATLAB's uint8 ``rgb2gray``,
see :func:`biqa_jax.fr_iqa._matlab.rgb2gray`):

  ``f = max(1, round(min(H, W) / 256))``; if ``f > 1`` both images are box-filtered with
  ``imfilter(., ones(f)/f^2, 'symmetric', 'same')`` and subsampled ``(1:f:end, 1:f:end)``;
  ``mu, sigma^2, sigma_xy`` from an 11x11 Gaussian (sigma 1.5) with ``filter2(..., 'valid')``
  (population moments of the weighted window);
  ``SSIM map = (2 mu_x mu_y + C1)(2 sigma_xy + C2) / ((mu_x^2 + mu_y^2 + C1)(sigma_x^2 + sigma_y^2 + C2))``,
  ``C1 = (0.01*255)^2``, ``C2 = (0.03*255)^2``; score = mean of the map.

Direction: higher is better; range <= 1 (can be negative); identical images give 1. Symmetric in
``ref``/``dist``. Minimum size: 11x11 after the automatic downsampling (ssim.m rejects smaller).
Unlike piq (per-RGB-channel, avg-pool downsampling) and pyiqa (YIQ luma, ReLU on the cs map) this
follows the MATLAB code exactly.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from biqa_jax.fr_iqa import _matlab

DIRECTION = "higher"
MIN_SIZE = 11
K1, K2, L = 0.01, 0.03, 255.0
WINDOW = _matlab.gaussian_window(11, 1.5)


def grey(image: jax.Array) -> jax.Array:
  """``[H, W, C] -> [H, W]``: MATLAB ``rgb2gray`` for RGB, the channel itself for grey."""
  return _matlab.rgb2gray(image) if image.shape[-1] == 3 else image[..., 0]


def ssim_maps(x: jax.Array, y: jax.Array, window=WINDOW):
  """``ssim_index_new.m``: the SSIM and contrast-structure maps of two ``[H, W]`` grey images ('valid')."""
  c1, c2 = (K1 * L) ** 2, (K2 * L) ** 2
  mu_x = _matlab.filter2_valid(x, window)
  mu_y = _matlab.filter2_valid(y, window)
  sigma_xx = _matlab.filter2_valid(x * x, window) - mu_x * mu_x
  sigma_yy = _matlab.filter2_valid(y * y, window) - mu_y * mu_y
  sigma_xy = _matlab.filter2_valid(x * y, window) - mu_x * mu_y
  cs_map = (2 * sigma_xy + c2) / (sigma_xx + sigma_yy + c2)
  ssim_map = (2 * mu_x * mu_y + c1) / (mu_x * mu_x + mu_y * mu_y + c1) * cs_map
  return ssim_map, cs_map


def _ssim_pair(ref: jax.Array, dist: jax.Array, downsample: bool) -> jax.Array:
  x, y = grey(ref), grey(dist)
  if downsample:
    f = _matlab.auto_factor(*x.shape)
    x = _matlab.box_downsample(x, f, "symmetric")
    y = _matlab.box_downsample(y, f, "symmetric")
  ssim_map, _ = ssim_maps(x, y)
  return jnp.mean(ssim_map)


def ssim(ref: jax.Array, dist: jax.Array, *, downsample: bool = True) -> jax.Array:
  """SSIM. ``ref, dist: [..., H, W, C]`` (C = 1 or 3) on the 0-255 scale -> ``[...]``."""
  return _matlab.over_batch(lambda r, d: _ssim_pair(r, d, downsample), ref, dist)

"""VIFp, pixel-domain Visual Information Fidelity (Sheikh & Bovik 2006), matching ``vifp_mscale.m``.

Grey input (RGB -> MATLAB uint8 ``rgb2gray``), ``sigma_n^2 = 2``. For scales ``s = 1..4`` with a
Gaussian window of size ``N = 2^(5-s) + 1`` (17, 9, 5, 3) and sigma ``N/5``: for ``s > 1`` both
images are first filtered with that window ('valid') and subsampled ``(1:2:end, 1:2:end)``; then
local moments with 'valid' filtering, ``sigma^2`` clipped at 0, ``g = sigma_rd / (sigma_r^2 + 1e-10)``,
``sv^2 = sigma_d^2 - g sigma_rd`` with the ``vifp_mscale.m`` clipping rules (in its order), and

  ``VIFp = sum_s sum log10(1 + g^2 sigma_r^2 / (sv^2 + sigma_n^2)) / sum_s sum log10(1 + sigma_r^2 / sigma_n^2)``.

Direction: higher is better; range 0 ... ~1 (> 1 for contrast enhancement); identical images give
1 (to ~1e-10). A completely flat reference gives 0/0 = NaN, as in the MATLAB code (piq returns 1).
Not symmetric. Minimum size 41x41 (the 4th scale must still hold a 3x3 window).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from biqa_jax.fr_iqa import _matlab
from biqa_jax.fr_iqa.ssim import grey

DIRECTION = "higher"
MIN_SIZE = 41
SIGMA_NSQ = 2.0
EPS = 1e-10


def _vifp_pair(ref: jax.Array, dist: jax.Array) -> jax.Array:
  x, y = grey(ref), grey(dist)
  num = jnp.zeros((), x.dtype)
  den = jnp.zeros((), x.dtype)
  for scale in range(1, 5):
    n = 2 ** (4 - scale + 1) + 1
    win = _matlab.gaussian_window(n, n / 5)
    if scale > 1:
      x = _matlab.filter2_valid(x, win)[::2, ::2]
      y = _matlab.filter2_valid(y, win)[::2, ::2]
    mu_x = _matlab.filter2_valid(x, win)
    mu_y = _matlab.filter2_valid(y, win)
    s_xx = _matlab.filter2_valid(x * x, win) - mu_x * mu_x
    s_yy = _matlab.filter2_valid(y * y, win) - mu_y * mu_y
    s_xy = _matlab.filter2_valid(x * y, win) - mu_x * mu_y
    s_xx = jnp.maximum(s_xx, 0)
    s_yy = jnp.maximum(s_yy, 0)
    g = s_xy / (s_xx + EPS)
    sv = s_yy - g * s_xy
    low_x = s_xx < EPS
    g = jnp.where(low_x, 0, g)
    sv = jnp.where(low_x, s_yy, sv)
    s_xx = jnp.where(low_x, 0, s_xx)
    low_y = s_yy < EPS
    g = jnp.where(low_y, 0, g)
    sv = jnp.where(low_y, 0, sv)
    sv = jnp.where(g < 0, s_yy, sv)
    g = jnp.maximum(g, 0)
    sv = jnp.where(sv <= EPS, EPS, sv)
    num = num + jnp.sum(jnp.log10(1 + g * g * s_xx / (sv + SIGMA_NSQ)))
    den = den + jnp.sum(jnp.log10(1 + s_xx / SIGMA_NSQ))
  return num / den


def vifp(ref: jax.Array, dist: jax.Array) -> jax.Array:
  """VIFp. ``ref, dist: [..., H, W, C]`` (C = 1 or 3) on the 0-255 scale -> ``[...]``."""
  return _matlab.over_batch(_vifp_pair, ref, dist)

"""PSNR, as ``skimage.metrics.peak_signal_noise_ratio`` on all channels (pyiqa's "official" PSNR).

``PSNR = 10 log10(255^2 / MSE)``, MSE over all pixels and channels (RGB is *not* converted to
grey; an ``H x W`` input is used as is). Direction: higher is better; range 0 ... +inf dB;
identical images give ``+inf`` (skimage's value; piq instead caps at 80 dB with ``eps=1e-8``).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

DIRECTION = "higher"
MIN_SIZE = 1
DATA_RANGE = 255.0


def psnr(ref: jax.Array, dist: jax.Array) -> jax.Array:
  """PSNR in dB. ``ref, dist: [..., H, W, C]`` floats on the 0-255 scale -> ``[...]``."""
  mse = jnp.mean((ref - dist) ** 2, axis=(-3, -2, -1))
  return 10.0 * jnp.log10(DATA_RANGE ** 2 / mse)

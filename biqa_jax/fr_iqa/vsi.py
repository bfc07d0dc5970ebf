"""VSI, Visual Saliency-induced Index (Zhang, Shen, Li 2014), matching Zhang's ``VSI.m`` (with SDSP).

Input RGB on the 0-255 scale (grey ``H x W`` input is replicated to three channels; ``VSI.m`` itself
needs RGB). Saliency ``VS`` = SDSP: each channel resized to 256x256 (Octave's bilinear ``imresize``,
anti-aliased when shrinking, see :func:`bilinear_matrix`), sRGB -> CIELab (D50 white, its own
``RGB2Lab``), frequency prior ``|log-Gabor * (L, a, b)|`` (omega0 0.021, sigmaF 1.34), centre prior
``exp(-||p - c||^2 / 145^2)`` (1-based coordinates, ``c = (rows/2, cols/2)``), colour prior
``1 - exp(-(a_n^2 + b_n^2) / 0.001^2)`` (min-max normalised a, b), product resized back (bilinear)
and ``mat2gray``-ed. Colour: ``L = 0.06R + 0.63G + 0.27B``, ``M = 0.30R + 0.04G - 0.35B``,
``N = 0.34R - 0.60G + 0.17B``; ``VS``, L, M, N go through ``conv2(., fspecial('average', f), 'same')``
(zero padding) and ``(1:f:end, 1:f:end)``, ``f = max(1, round(min(H, W)/256))``; ``G`` = Scharr
gradient magnitude of L;

  ``S_VS = (2 VS_r VS_d + 1.27)/(VS_r^2 + VS_d^2 + 1.27)``, ``S_G`` likewise with 386, ``S_M, S_N``
  with 130, ``VS_m = max(VS_r, VS_d)``, ``VSI = sum(S_G^0.4 S_VS Re((S_M S_N)^0.02) VS_m) / sum(VS_m)``.

Direction: higher is better; range 0 ... 1; identical images give 1. Symmetric. A flat image has
no saliency (``mat2gray`` of a constant map is 0/0), so VSI is NaN for it, as in MATLAB. Minimum
size 8x8 (a choice; the 256x256 saliency resize runs on any size).

The values match ``VSI.m`` run in GNU Octave 7.3 (fr_iqa.md §5) and pyiqa; the "official" VSI
column of pyiqa's calibration table (0.9139 / 0.9620 / 0.9922) is another port, not MATLAB.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from biqa_jax.fr_iqa import _matlab
from biqa_jax.fr_iqa.fsim import SCHARR_X
from biqa_jax.fr_iqa.gmsd import gradient_magnitude

DIRECTION = "higher"
MIN_SIZE = 8
C_VS, C_GM, C_CHROM, ALPHA, LAMBDA = 1.27, 386.0, 130.0, 0.40, 0.020
SIGMA_F, OMEGA0, SIGMA_D, SIGMA_C = 1.34, 0.021, 145.0, 0.001
SDSP_SIZE = 256
LMN = np.array([[0.06, 0.63, 0.27], [0.30, 0.04, -0.35], [0.34, -0.60, 0.17]])
SRGB_TO_XYZ = np.array([[0.4124564, 0.3575761, 0.1804375],
                        [0.2126729, 0.7151522, 0.0721750],
                        [0.0193339, 0.1191920, 0.9503041]])
D50_WHITE = (0.9642, 1.0, 0.8251)
LAB_EPSILON, LAB_KAPPA = 0.008856, 903.3


def bilinear_matrix(n_out: int, n_in: int) -> np.ndarray:
  """``[n_out, n_in]`` weights of Octave's ``imresize(x, [.. n_out], 'bilinear')`` along one axis.

  Octave image package: sample points ``0.5 + 1/(2s) + k/s`` (1-based, ``s = n_out/n_in``), a
  triangle kernel, widened to ``s * triangle(s h)`` when shrinking (anti-aliasing on by default),
  and symmetric padding of out-of-range taps.
  """
  scale = n_out / n_in
  if scale == 1:
    return np.eye(n_in)
  if scale < 1:
    kernel = lambda h: scale * np.maximum(1 - np.abs(scale * h), 0)
    kernel_size = 2 / scale
  else:
    kernel = lambda h: np.maximum(1 - np.abs(h), 0)
    kernel_size = 2
  z = 0.5 + 1 / scale / 2 + np.arange(n_out) / scale
  idx = np.floor(z)
  dz = z - idx
  pad = int(np.ceil(kernel_size / 2))
  m = np.zeros((n_out, n_in))
  for shift in range(1 - pad, pad + 1):
    i = (idx + shift - 1).astype(int)  # 0-based, then mirrored as imresize's "symmetric"
    mod = np.mod(i, n_in)
    odd = np.mod(np.floor_divide(i, n_in), 2) == 1
    j = np.where(odd, n_in - 1 - mod, mod)
    np.add.at(m, (np.arange(n_out), j), kernel(shift - dz))
  return m


def _resize(image: jax.Array, rows: int, cols: int) -> jax.Array:
  r = jnp.asarray(bilinear_matrix(rows, image.shape[0]), image.dtype)
  c = jnp.asarray(bilinear_matrix(cols, image.shape[1]), image.dtype)
  return jnp.matmul(jnp.matmul(r, image, precision="highest"), c.T, precision="highest")


def _rgb2lab(rgb: jax.Array) -> jax.Array:
  """SDSP's ``RGB2Lab``: ``[H, W, 3]`` 0-255 -> ``[H, W, 3]`` CIELab (D50)."""
  c = rgb / 255
  linear = jnp.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
  xyz = [sum(w * linear[..., k] for k, w in enumerate(row)) for row in SRGB_TO_XYZ]
  f = [jnp.where(v / white > LAB_EPSILON, jnp.cbrt(v / white), (LAB_KAPPA * v / white + 16) / 116)
       for v, white in zip(xyz, D50_WHITE)]
  return jnp.stack([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])], axis=-1)


def _log_gabor(rows: int, cols: int) -> np.ndarray:
  u1, u2 = np.meshgrid((np.arange(1, cols + 1) - (cols // 2 + 1)) / (cols - cols % 2),
                       (np.arange(1, rows + 1) - (rows // 2 + 1)) / (rows - rows % 2))
  mask = (u1 ** 2 + u2 ** 2) <= 0.25
  u1, u2 = np.fft.ifftshift(u1 * mask), np.fft.ifftshift(u2 * mask)
  radius = np.sqrt(u1 ** 2 + u2 ** 2)
  radius[0, 0] = 1.0
  with np.errstate(divide="ignore"):  # radius 0 outside the mask: log -> -inf -> LG = 0, as in MATLAB
    lg = np.exp(-(np.log(radius / OMEGA0)) ** 2 / (2 * SIGMA_F ** 2))
  lg[0, 0] = 0.0
  return lg


def saliency(rgb: jax.Array) -> jax.Array:
  """SDSP visual saliency ``[H, W, 3] -> [H, W]`` in [0, 1] (``mat2gray``-ed)."""
  rows, cols = rgb.shape[:2]
  n = SDSP_SIZE
  small = jnp.stack([_resize(rgb[..., k], n, n) for k in range(3)], axis=-1)
  lab = _rgb2lab(small)
  lg = jnp.asarray(_log_gabor(n, n), rgb.dtype)
  responses = jnp.real(jnp.fft.ifft2(jnp.fft.fft2(jnp.moveaxis(lab, -1, 0)) * lg))
  sf_map = jnp.sqrt(jnp.sum(responses ** 2, axis=0))
  i, j = np.meshgrid(np.arange(1, n + 1), np.arange(1, n + 1), indexing="ij")
  sd_map = np.exp(-((i - n / 2) ** 2 + (j - n / 2) ** 2) / SIGMA_D ** 2)
  a, b = lab[..., 1], lab[..., 2]
  a_n = (a - a.min()) / (a.max() - a.min())
  b_n = (b - b.min()) / (b.max() - b.min())
  sc_map = 1 - jnp.exp(-(a_n ** 2 + b_n ** 2) / SIGMA_C ** 2)
  vs = _resize(sf_map * jnp.asarray(sd_map, rgb.dtype) * sc_map, rows, cols)
  return (vs - vs.min()) / (vs.max() - vs.min())


def _vsi_pair(ref: jax.Array, dist: jax.Array) -> jax.Array:
  if ref.shape[-1] == 1:
    ref, dist = jnp.repeat(ref, 3, axis=-1), jnp.repeat(dist, 3, axis=-1)
  f = _matlab.auto_factor(*ref.shape[:2])
  down = lambda x: _matlab.box_downsample(x, f, "zero")
  vs1, vs2 = down(saliency(ref)), down(saliency(dist))
  l1, m1, n1 = [down(sum(w * ref[..., k] for k, w in enumerate(row))) for row in LMN]
  l2, m2, n2 = [down(sum(w * dist[..., k] for k, w in enumerate(row))) for row in LMN]
  g1, g2 = gradient_magnitude(l1, SCHARR_X), gradient_magnitude(l2, SCHARR_X)
  s_vs = (2 * vs1 * vs2 + C_VS) / (vs1 ** 2 + vs2 ** 2 + C_VS)
  s_g = (2 * g1 * g2 + C_GM) / (g1 ** 2 + g2 ** 2 + C_GM)
  s_m = (2 * m1 * m2 + C_CHROM) / (m1 ** 2 + m2 ** 2 + C_CHROM)
  s_n = (2 * n1 * n2 + C_CHROM) / (n1 ** 2 + n2 ** 2 + C_CHROM)
  chroma = (s_m * s_n).astype(jnp.result_type(s_m.dtype, jnp.complex64))
  weight = jnp.maximum(vs1, vs2)
  sim = s_g ** ALPHA * s_vs * jnp.real(jnp.exp(LAMBDA * jnp.log(chroma))) * weight
  return jnp.sum(sim) / jnp.sum(weight)


def vsi(ref: jax.Array, dist: jax.Array) -> jax.Array:
  """VSI. ``ref, dist: [..., H, W, C]`` (C = 1 or 3) on the 0-255 scale -> ``[...]``."""
  return _matlab.over_batch(_vsi_pair, ref, dist)

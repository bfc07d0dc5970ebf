"""VIF, wavelet-domain Visual Information Fidelity (Sheikh & Bovik 2006), matching ``vifvec.m``
(with ``vifsub_est_M.m``, ``refparams_vecgsm.m``, ``ind2wtree.m`` and matlabPyrTools).

Grey input (RGB -> MATLAB uint8 ``rgb2gray``). Steerable pyramid ``buildSpyr(im, 4, 'sp5Filters',
'reflect1')`` (correlation, mirror edges without repeating the edge pixel); of the reversed subband
list (low-pass first) the subbands ``[4 7 10 13 16 19 22 25]`` are used: orientations 4 and 1 of
each of the 4 scales. For each, cropped to multiples of ``M = 3``: the GSM reference model from all
3x3 neighbourhoods (covariance ``C_U`` with eigenvalues ``lambda_j``, ``s^2 = x' C_U^-1 x / 9`` per
non-overlapping 3x3 block) and the distortion channel ``g``, ``sigma_v^2`` from
``(2^lev + 1)^2`` box windows (``lev = ceil((sub-1)/6)``) sampled every 3 pixels, with
``vifsub_est_M.m``'s clipping rules; ``ceil(((w-1)/2)/3)`` blocks trimmed at each border;

  ``VIF = sum_sub sum_j sum log2(1 + g^2 s^2 lambda_j / (sigma_v^2 + 0.4)) / sum_sub sum_j sum log2(1 + s^2 lambda_j / 0.4)``.

Direction: higher is better; range 0 ... ~1 (> 1 for contrast enhancement); identical images give
1. A flat reference (singular ``C_U``) gives NaN, as MATLAB's ``inv`` does not give a usable
value either. Not symmetric. Minimum size 65x65 (the coarsest used band must keep one block after trimming).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from biqa_jax.fr_iqa import _matlab
from biqa_jax.fr_iqa.ssim import grey

DIRECTION = "higher"
MIN_SIZE = 65
M = 3
SUBBANDS = (4, 7, 10, 13, 16, 19, 22, 25)
SIGMA_NSQ = 0.4
TOL = 1e-10
HEIGHT = 4

# matlabPyrTools sp5Filters (lo0filt, lofilt and the first and fourth of the six band filters, the
# only ones VIF uses), as printed in sp5Filters.m.
LO0FILT = np.array([
    [0.00341614, -0.01551246, -0.03848215, -0.01551246, 0.00341614],
    [-0.01551246, 0.05586982, 0.15925570, 0.05586982, -0.01551246],
    [-0.03848215, 0.15925570, 0.40304148, 0.15925570, -0.03848215],
    [-0.01551246, 0.05586982, 0.15925570, 0.05586982, -0.01551246],
    [0.00341614, -0.01551246, -0.03848215, -0.01551246, 0.00341614]])
_LO = [0.00085404, -0.00244917, -0.00387812, -0.00944432, -0.00962054,
       -0.00244917, -0.00523281, -0.00661117, 0.00410600, 0.01002988,
       -0.00387812, -0.00661117, 0.01396746, 0.03277038, 0.03981393,
       -0.00944432, 0.00410600, 0.03277038, 0.06426333, 0.08169618,
       -0.00962054, 0.01002988, 0.03981393, 0.08169618, 0.10096540]


def _symmetric_9x9(quarter):
  q = np.array(quarter).reshape(5, 5)
  top = np.concatenate([q, q[:, -2::-1]], axis=1)
  return np.concatenate([top, top[-2::-1]], axis=0)


LOFILT = 2 * _symmetric_9x9(_LO)
# bfilts(:, b) of sp5Filters.m for b = 1 and 4, reshaped column-major to 7x7 as buildSpyrLevs does.
_B1 = [0.00277643, 0.00496194, 0.01026699, 0.01455399, 0.01026699, 0.00496194, 0.00277643,
       -0.00986904, -0.00893064, 0.01189859, 0.02755155, 0.01189859, -0.00893064, -0.00986904,
       -0.01021852, -0.03075356, -0.08226445, -0.11732297, -0.08226445, -0.03075356, -0.01021852,
       0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
       0.01021852, 0.03075356, 0.08226445, 0.11732297, 0.08226445, 0.03075356, 0.01021852,
       0.00986904, 0.00893064, -0.01189859, -0.02755155, -0.01189859, 0.00893064, 0.00986904,
       -0.00277643, -0.00496194, -0.01026699, -0.01455399, -0.01026699, -0.00496194, -0.00277643]
_B4 = [-0.00277643, 0.00986904, 0.01021852, -0.00000000, -0.01021852, -0.00986904, 0.00277643,
       -0.00496194, 0.00893064, 0.03075356, -0.00000000, -0.03075356, -0.00893064, 0.00496194,
       -0.01026699, -0.01189859, 0.08226445, -0.00000000, -0.08226445, 0.01189859, 0.01026699,
       -0.01455399, -0.02755155, 0.11732297, -0.00000000, -0.11732297, 0.02755155, 0.01455399,
       -0.01026699, -0.01189859, 0.08226445, -0.00000000, -0.08226445, 0.01189859, 0.01026699,
       -0.00496194, 0.00893064, 0.03075356, -0.00000000, -0.03075356, -0.00893064, 0.00496194,
       -0.00277643, 0.00986904, 0.01021852, -0.00000000, -0.01021852, -0.00986904, 0.00277643]
BFILT_1 = np.array(_B1).reshape(7, 7).T
BFILT_4 = np.array(_B4).reshape(7, 7).T


def corr_dn(image: jax.Array, filt: np.ndarray, step: int = 1, start: int = 0) -> jax.Array:
  """matlabPyrTools ``corrDn(image, filt, 'reflect1', [step step], [start start] + 1)`` (odd filters)."""
  p = (filt.shape[0] - 1) // 2
  padded = jnp.pad(image, p, mode="reflect")[start:, start:]
  out = jax.lax.conv_general_dilated(
      padded[None, None], jnp.asarray(filt, image.dtype)[None, None], window_strides=(step, step),
      padding="VALID", precision=jax.lax.Precision.HIGHEST)
  return out[0, 0]


def used_subbands(image: jax.Array) -> list[jax.Array]:
  """``[2, h, w]`` per scale, finest first: orientation bands 1 and 4 (subbands 25 & 22, 19 & 16, ...)."""
  lo = corr_dn(image, LO0FILT)
  levels = []
  for _ in range(HEIGHT):
    levels.append(jnp.stack([corr_dn(lo, BFILT_1), corr_dn(lo, BFILT_4)]))
    lo = corr_dn(lo, LOFILT, step=2)
  return levels


def _window_size(scale: int) -> int:
  """``2^lev + 1`` with vifvec's ``lev = ceil((sub-1)/6)``: 17, 9, 5, 3 from the finest scale."""
  sub = 25 - 6 * scale  # both bands of a scale give the same lev
  return 2 ** int(np.ceil((sub - 1) / 6)) + 1


def _channel(y, yn, winsize):
  """vifsub_est_M.m for one subband: ``g``, ``sigma_v^2`` on the 3x3-block grid."""
  n = float(winsize * winsize)

  def box(x):  # corrDn(x, ones(w), 'reflect1', [M M], [2 2]) as a windowed sum
    padded = jnp.pad(x, (winsize - 1) // 2, mode="reflect")[M // 2:, M // 2:]
    return jax.lax.reduce_window(padded, jnp.zeros((), x.dtype), jax.lax.add,
                                 (winsize, winsize), (M, M), "VALID")

  mean_x, mean_y = box(y) / n, box(yn) / n
  cov_xy = box(y * yn) - n * mean_x * mean_y
  ss_x = jnp.maximum(box(y * y) - n * mean_x ** 2, 0)
  ss_y = jnp.maximum(box(yn * yn) - n * mean_y ** 2, 0)
  g = cov_xy / (ss_x + TOL)
  vv = (ss_y - g * cov_xy) / n
  low_x = ss_x < TOL
  g = jnp.where(low_x, 0, g)
  vv = jnp.where(low_x, ss_y, vv)
  low_y = ss_y < TOL
  g = jnp.where(low_y, 0, g)
  vv = jnp.where(low_y, 0, vv)
  vv = jnp.where(g < 0, ss_y, vv)
  g = jnp.maximum(g, 0)
  vv = jnp.where(vv < TOL, TOL, vv)
  return g, vv


def _gsm(y):
  """refparams_vecgsm.m for one subband: ``s^2`` per 3x3 block and the eigenvalues of ``C_U``."""
  rows, cols = y.shape
  shifts = [(k, j) for j in range(M) for k in range(M)]
  patches = jnp.stack([y[k:rows - (M - k) + 1, j:cols - (M - j) + 1].reshape(-1) for k, j in shifts])
  centred = patches - jnp.mean(patches, axis=1, keepdims=True)
  cu = centred @ centred.T / patches.shape[1]
  blocks = jnp.stack([y[k::M, j::M] for k, j in shifts])  # [9, rows/M, cols/M]
  # x' inv(C_U) x through C_U's eigendecomposition (needed anyway; compiles faster than inv).
  lambdas, vectors = jnp.linalg.eigh(cu)
  projected = jnp.einsum("ij,ipq->jpq", vectors, blocks, precision="highest")
  quad = jnp.sum(projected ** 2 / lambdas[:, None, None], axis=0) / (M * M)
  return quad, lambdas


def _vif_pair(ref: jax.Array, dist: jax.Array) -> jax.Array:
  pyramids = jax.vmap(used_subbands)(jnp.stack([grey(ref), grey(dist)]))  # per scale [2 images, 2 bands, h, w]
  num = den = 0.0
  for scale, bands in enumerate(pyramids):
    winsize = _window_size(scale)
    rows, cols = (bands.shape[-2] // M) * M, (bands.shape[-1] // M) * M
    band_x, band_y = bands[0, :, :rows, :cols], bands[1, :, :rows, :cols]
    g, vv = jax.vmap(functools.partial(_channel, winsize=winsize))(band_x, band_y)
    ss, lambdas = jax.vmap(_gsm)(band_x)
    o = int(np.ceil((winsize - 1) / 2 / M))
    g, vv, ss = g[:, o:-o, o:-o], vv[:, o:-o, o:-o], ss[:, o:-o, o:-o]
    lam = lambdas[:, :, None, None]  # [2 bands, 9, 1, 1]
    g, vv, ss = g[:, None], vv[:, None], ss[:, None]
    num = num + jnp.sum(jnp.log2(1 + g * g * ss * lam / (vv + SIGMA_NSQ)))
    den = den + jnp.sum(jnp.log2(1 + ss * lam / SIGMA_NSQ))
  return num / den


def vif(ref: jax.Array, dist: jax.Array) -> jax.Array:
  """VIF. ``ref, dist: [..., H, W, C]`` (C = 1 or 3) on the 0-255 scale -> ``[...]``."""
  return _matlab.over_batch(_vif_pair, ref, dist)

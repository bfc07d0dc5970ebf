"""FSIM and FSIMc (Zhang, Zhang, Mou, Zhang 2011), matching Zhang's ``FeatureSIM.m`` + ``phasecong2``.

Input RGB on the 0-255 scale, no rounding: ``Y = 0.299R + 0.587G + 0.114B``,
``I = 0.596R - 0.274G - 0.322B``, ``Q = 0.211R - 0.523G + 0.312B`` (the script's own YIQ, not
``rgb2gray``). With ``f = max(1, round(min(H, W)/256))``, Y, I, Q go through
``conv2(., fspecial('average', f), 'same')`` (zero padding) and ``(1:f:end, 1:f:end)``.
``PC`` = phase congruency of Y (Kovesi's ``phasecong2``: 4 scales, 4 orientations, log-Gabor,
min wavelength 6, mult 2, sigmaOnf 0.55, noise threshold k = 2 with the 1/1.7 rescaling);
``G`` = Scharr gradient magnitude ``conv2(Y, [3 0 -3; 10 0 -10; 3 0 -3]/16, 'same')``;

  ``S_PC = (2 PC_r PC_d + 0.85) / (PC_r^2 + PC_d^2 + 0.85)``, ``S_G = (2 G_r G_d + 160) / (G_r^2 + G_d^2 + 160)``,
  ``PC_m = max(PC_r, PC_d)``, ``FSIM = sum(S_PC S_G PC_m) / sum(PC_m)``,
  ``S_I, S_Q`` likewise with constant 200, ``FSIMc = sum(S_PC S_G Re((S_I S_Q)^0.03) PC_m) / sum(PC_m)``.

Direction: higher is better; range 0 ... 1; identical images give 1 (except flat images: no phase
congruency anywhere, 0/0 = NaN, as in MATLAB). Symmetric. Grey ``H x W``
input: Y is the grey image and I = Q = 1 (as ``FeatureSIM.m`` does), so FSIMc = FSIM. Minimum size
8x8 after the automatic downsampling (a choice: phasecong2 runs on any size, but its smallest
filter has wavelength 6).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from biqa_jax.fr_iqa import _matlab
from biqa_jax.fr_iqa.gmsd import gradient_magnitude

DIRECTION = "higher"
MIN_SIZE = 8
SCHARR_X = np.array([[3, 0, -3], [10, 0, -10], [3, 0, -3]], dtype=np.float64) / 16
YIQ = np.array([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])
T1, T2, T3, T4, LAMBDA = 0.85, 160.0, 200.0, 200.0, 0.03

N_SCALE, N_ORIENT, MIN_WAVELENGTH, MULT, SIGMA_ON_F = 4, 4, 6, 2, 0.55
D_THETA_ON_SIGMA, NOISE_K, PC_EPSILON = 1.2, 2.0, 1e-4


def _centred_range(n: int) -> np.ndarray:
  """phasecong2's normalised frequency axis (``[-(n-1)/2 : (n-1)/2]/(n-1)`` or ``[-n/2 : n/2-1]/n``)."""
  if n % 2:
    return np.arange(-(n - 1) / 2, (n - 1) / 2 + 1) / (n - 1)
  return np.arange(-n / 2, n / 2) / n


def _phasecong_filters(rows: int, cols: int):
  """The log-Gabor x angular spread filters ``[S, O, rows, cols]`` (float64 NumPy, built once per shape)."""
  x, y = np.meshgrid(_centred_range(cols), _centred_range(rows))
  radius = np.fft.ifftshift(np.sqrt(x ** 2 + y ** 2))
  theta = np.fft.ifftshift(np.arctan2(-y, x))
  radius[0, 0] = 1.0
  sintheta, costheta = np.sin(theta), np.cos(theta)
  lowpass = np.fft.ifftshift(1.0 / (1.0 + (np.sqrt(x ** 2 + y ** 2) / 0.45) ** (2 * 15)))
  log_gabor = []
  for s in range(N_SCALE):
    fo = 1.0 / (MIN_WAVELENGTH * MULT ** s)
    lg = np.exp(-(np.log(radius / fo)) ** 2 / (2 * np.log(SIGMA_ON_F) ** 2)) * lowpass
    lg[0, 0] = 0.0
    log_gabor.append(lg)
  theta_sigma = np.pi / N_ORIENT / D_THETA_ON_SIGMA
  spread = []
  for o in range(N_ORIENT):
    angle = o * np.pi / N_ORIENT
    ds = sintheta * np.cos(angle) - costheta * np.sin(angle)
    dc = costheta * np.cos(angle) + sintheta * np.sin(angle)
    dtheta = np.abs(np.arctan2(ds, dc))
    spread.append(np.exp(-dtheta ** 2 / (2 * theta_sigma ** 2)))
  filters = np.stack([np.stack([lg * sp for sp in spread]) for lg in log_gabor])  # [S, O, r, c]
  return filters


def _noise_constants(filters: np.ndarray):
  """Per orientation: ``EM_n`` and the noise-energy factors of phasecong2 (depend on filters only)."""
  rows, cols = filters.shape[-2:]
  em_n = np.sum(filters[0] ** 2, axis=(-2, -1))  # [O]
  ifft_filters = np.real(np.fft.ifft2(filters)) * np.sqrt(rows * cols)  # [S, O, r, c]
  sum_an2 = np.sum(ifft_filters ** 2, axis=(0, -2, -1))
  sum_aiaj = np.zeros(N_ORIENT)
  for si in range(N_SCALE - 1):
    for sj in range(si + 1, N_SCALE):
      sum_aiaj += np.sum(ifft_filters[si] * ifft_filters[sj], axis=(-2, -1))
  return em_n, sum_an2, sum_aiaj


def phase_congruency(image: jax.Array) -> jax.Array:
  """Kovesi's ``phasecong2`` as used by FSIM: ``[H, W]`` -> ``[H, W]`` in [0, 1]."""
  rows, cols = image.shape
  filters = _phasecong_filters(rows, cols)
  em_n, sum_an2, sum_aiaj = _noise_constants(filters)
  eo = jnp.fft.ifft2(jnp.fft.fft2(image)[None, None] * jnp.asarray(filters, image.dtype))  # [S, O, r, c]
  even, odd = jnp.real(eo), jnp.imag(eo)
  amplitude = jnp.abs(eo)
  sum_e = jnp.sum(even, axis=0)
  sum_o = jnp.sum(odd, axis=0)
  x_energy = jnp.sqrt(sum_e ** 2 + sum_o ** 2) + PC_EPSILON
  mean_e, mean_o = sum_e / x_energy, sum_o / x_energy
  energy = jnp.sum(even * mean_e + odd * mean_o - jnp.abs(even * mean_o - odd * mean_e), axis=0)  # [O, r, c]
  median_e2n = jnp.median(jnp.abs(eo[0]).reshape(N_ORIENT, -1) ** 2, axis=-1)
  mean_e2n = -median_e2n / np.log(0.5)
  noise_power = mean_e2n / em_n
  est_noise_energy2 = 2 * noise_power * sum_an2 + 4 * noise_power * sum_aiaj
  tau = jnp.sqrt(est_noise_energy2 / 2)
  threshold = (tau * np.sqrt(np.pi / 2) + NOISE_K * jnp.sqrt((2 - np.pi / 2) * tau ** 2)) / 1.7
  energy = jnp.maximum(energy - threshold[:, None, None], 0)
  return jnp.sum(energy, axis=0) / jnp.sum(amplitude, axis=(0, 1))


def _yiq(image: jax.Array):
  if image.shape[-1] == 1:
    ones = jnp.ones(image.shape[:2], image.dtype)
    return image[..., 0], ones, ones
  return [sum(w * image[..., c] for c, w in enumerate(row)) for row in YIQ]


def _fsim_pair(ref: jax.Array, dist: jax.Array, chromatic: bool) -> jax.Array:
  f = _matlab.auto_factor(*ref.shape[:2])
  y1, i1, q1 = [_matlab.box_downsample(c, f, "zero") for c in _yiq(ref)]
  y2, i2, q2 = [_matlab.box_downsample(c, f, "zero") for c in _yiq(dist)]
  pc1, pc2 = phase_congruency(y1), phase_congruency(y2)
  g1, g2 = gradient_magnitude(y1, SCHARR_X), gradient_magnitude(y2, SCHARR_X)
  s_pc = (2 * pc1 * pc2 + T1) / (pc1 ** 2 + pc2 ** 2 + T1)
  s_g = (2 * g1 * g2 + T2) / (g1 ** 2 + g2 ** 2 + T2)
  pc_m = jnp.maximum(pc1, pc2)
  sim = s_g * s_pc * pc_m
  if chromatic:
    s_i = (2 * i1 * i2 + T3) / (i1 ** 2 + i2 ** 2 + T3)
    s_q = (2 * q1 * q2 + T4) / (q1 ** 2 + q2 ** 2 + T4)
    sq = (s_i * s_q).astype(jnp.result_type(s_i.dtype, jnp.complex64))
    sim = sim * jnp.real(jnp.exp(LAMBDA * jnp.log(sq)))
  return jnp.sum(sim) / jnp.sum(pc_m)


def fsim(ref: jax.Array, dist: jax.Array) -> jax.Array:
  """FSIM (luma only). ``ref, dist: [..., H, W, C]`` (C = 1 or 3) on the 0-255 scale -> ``[...]``."""
  return _matlab.over_batch(lambda r, d: _fsim_pair(r, d, False), ref, dist)


def fsimc(ref: jax.Array, dist: jax.Array) -> jax.Array:
  """FSIMc (with I, Q chroma). ``ref, dist: [..., H, W, C]`` (C = 1 or 3), 0-255 scale -> ``[...]``."""
  return _matlab.over_batch(lambda r, d: _fsim_pair(r, d, True), ref, dist)

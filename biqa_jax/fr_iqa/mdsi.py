"""MDSI (Nafchi, Shahkolaei, Hedjam, Cheriet 2016), matching Nafchi's ``MDSI.m`` (and piq ``mdsi``).

RGB input on the 0-255 scale, no rounding (grey ``H x W`` input is replicated to three channels,
as piq does and as the published goldhill values were computed). With ``f = max(1, round(min(H, W)/256))``
each of R, G, B goes through ``conv2(., fspecial('average', f), 'same')`` (zero padding) and
``(1:f:end, 1:f:end)``. Then ``L = 0.2989R + 0.5870G + 0.1140B``, ``H = 0.30R + 0.04G - 0.35B``,
``M = 0.34R - 0.60G + 0.17B``; Prewitt gradient magnitudes ``g_r, g_d, g_f`` of ``L_ref``,
``L_dist`` and the fused ``(L_ref + L_dist)/2``;

  ``GS(a, b, C) = (2ab + C) / (a^2 + b^2 + C)``,
  ``GS_HVS = GS(g_r, g_d, 140) + GS(g_d, g_f, 55) - GS(g_r, g_f, 55)``,
  ``CS = (2(H_r H_d + M_r M_d) + 550) / (H_r^2 + H_d^2 + M_r^2 + M_d^2 + 550)``,
  ``GCS = 0.6 GS_HVS + 0.4 CS`` (``combination='sum'``) or ``GS_HVS^0.2 CS^0.1`` (``'mult'``),
  ``MDSI = (mean |GCS^(1/4) - mean(GCS^(1/4))|)^(1/4)``

with complex powers (principal branch) where ``GCS`` or ``GS_HVS`` is negative, as MATLAB does.

Direction: lower is better; range 0 ... ~0.5 (unbounded in principle); identical images give 0.
Not symmetric (``GS_HVS`` treats the fused image asymmetrically). Minimum size 3x3 after the
automatic downsampling.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from biqa_jax.fr_iqa import _matlab
from biqa_jax.fr_iqa.gmsd import PREWITT_X, gradient_magnitude

DIRECTION = "lower"
MIN_SIZE = 3
C1, C2, C3 = 140.0, 55.0, 550.0
ALPHA, BETA, GAMMA = 0.6, 0.1, 0.2
Q, O = 0.25, 0.25
LHM = np.array([[0.2989, 0.5870, 0.1140], [0.30, 0.04, -0.35], [0.34, -0.60, 0.17]])


def _similarity(a, b, c):
  return (2 * a * b + c) / (a * a + b * b + c)


def _complex_pow(z: jax.Array, p: float) -> jax.Array:
  z = z.astype(jnp.result_type(z.dtype, jnp.complex64))
  return jnp.where(z == 0, 0, jnp.exp(p * jnp.log(jnp.where(z == 0, 1, z))))


def _lhm(rgb: jax.Array) -> list[jax.Array]:
  f = _matlab.auto_factor(*rgb.shape[:2])
  channels = [_matlab.box_downsample(rgb[..., c], f, "zero") for c in range(3)]
  return [sum(w * ch for w, ch in zip(row, channels)) for row in LHM]


def _mdsi_pair(ref: jax.Array, dist: jax.Array, combination: str) -> jax.Array:
  if ref.shape[-1] == 1:
    ref, dist = jnp.repeat(ref, 3, axis=-1), jnp.repeat(dist, 3, axis=-1)
  l_r, h_r, m_r = _lhm(ref)
  l_d, h_d, m_d = _lhm(dist)
  g_r = gradient_magnitude(l_r, PREWITT_X)
  g_d = gradient_magnitude(l_d, PREWITT_X)
  g_f = gradient_magnitude((l_r + l_d) / 2, PREWITT_X)
  gs_hvs = _similarity(g_r, g_d, C1) + _similarity(g_d, g_f, C2) - _similarity(g_r, g_f, C2)
  cs = (2 * (h_r * h_d + m_r * m_d) + C3) / (h_r * h_r + h_d * h_d + m_r * m_r + m_d * m_d + C3)
  if combination == "sum":
    gcs = ALPHA * gs_hvs + (1 - ALPHA) * cs
  else:
    gcs = _complex_pow(gs_hvs, GAMMA) * _complex_pow(cs, BETA)
  gcs_q = _complex_pow(gcs, Q)
  deviation = jnp.mean(jnp.abs(gcs_q - jnp.mean(gcs_q)))
  return deviation ** O


def mdsi(ref: jax.Array, dist: jax.Array, *, combination: str = "sum") -> jax.Array:
  """MDSI. ``ref, dist: [..., H, W, C]`` (C = 1 or 3) on the 0-255 scale -> ``[...]``."""
  if combination not in ("sum", "mult"):
    raise ValueError(f"MDSI combination must be 'sum' or 'mult' (MDSI.m's options), got {combination!r}.")
  return _matlab.over_batch(lambda r, d: _mdsi_pair(r, d, combination), ref, dist)

"""Synthetic distortions after KADID-10k (Lin, Hosu & Saupe, QoMEX 2019), five levels per type.

:data:`DISTORTIONS` maps a type name to ``(function, [five parameters])``; ``level_index`` 0..4
picks the parameter, 0 mildest, 4 strongest (KADID's file names count levels 1..5). Every function
has the signature ``fn(image: [H, W, 3] uint8, param, rng: np.random.Generator) -> [H, W, 3] uint8``
and is vectorised NumPy/SciPy/Pillow; :func:`distort` is the entry point, deterministic given
``(image, name, level_index, seed)``.

Reference implementation: KADID-10k's MATLAB generator (``imdist_generator.m`` with its helpers,
e.g. ``curves.m``, as also ported in public Python code such as ARNIQA's ``utils/distortions.py``).
Names are the snake_case of the KADID type list (reference/datasets.md); the number in the
comment above each function is KADID's type id (``I01_<id>_<level>.png``), and the functions are
in that order.
Differences from the MATLAB generator, for all types:

* It min-max stretches every input and output (``mapmm``). We don't: the input stretch changes
  the reference itself (a no-op only for images spanning 0..255), and the output stretch partly
  undoes brighten, darken and contrast change whenever they move the darkest or brightest value.
* Values are computed in float64 on [0, 1] and returned as ``round(clip(y, 0, 1) * 255)``
  (MATLAB's ``im2uint8``).

Parameters are KADID's published values except where one is degenerate (no change at all, or a
sign change that breaks the mild → strong order); the replacement is documented at the entry. The
tests check that every level changes the image and that each level is worse than the one before
(PSNR falls, or, for tone and colour changes, the mean absolute difference grows).

Types so far (a later change adds the rest of KADID's 25): gaussian_blur (01),
color_saturation_1 (07), jpeg2000 (09, only if Pillow was built with OpenJPEG), jpeg (10),
white_noise (11), impulse_noise (13), brighten (16), darken (17), contrast_change (25).
"""

from __future__ import annotations

import io
import math
from typing import Callable

import numpy as np
import scipy.interpolate
import scipy.ndimage
from PIL import Image, features

NUM_LEVELS = 5

DistortionFn = Callable[[np.ndarray, float, np.random.Generator], np.ndarray]


def _to_unit(image: np.ndarray) -> np.ndarray:
  return image.astype(np.float64) / 255.0


def _to_uint8(x: np.ndarray) -> np.ndarray:
  return np.rint(np.clip(x, 0.0, 1.0) * 255.0).astype(np.uint8)


# --- colour space -------------------------------------------------------------------------------
# sRGB (IEC 61966-2-1) <-> CIE L*a*b* with the D65 white, as MATLAB's rgb2lab/lab2rgb by default.
_RGB_TO_XYZ = np.array([[0.4124564, 0.3575761, 0.1804375],
                        [0.2126729, 0.7151522, 0.0721750],
                        [0.0193339, 0.1191920, 0.9503041]])
_XYZ_TO_RGB = np.linalg.inv(_RGB_TO_XYZ)
_D65_WHITE = np.array([0.95047, 1.0, 1.08883])
_LAB_DELTA = 6.0 / 29.0


def _srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
  """``[..., 3]`` sRGB in [0, 1] -> ``[..., 3]`` (L in [0, 100], a, b)."""
  linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
  t = (linear @ _RGB_TO_XYZ.T) / _D65_WHITE
  f = np.where(t > _LAB_DELTA**3, np.cbrt(t), t / (3 * _LAB_DELTA**2) + 4.0 / 29.0)
  return np.stack([116.0 * f[..., 1] - 16.0,
                   500.0 * (f[..., 0] - f[..., 1]),
                   200.0 * (f[..., 1] - f[..., 2])], axis=-1)


def _lab_to_srgb(lab: np.ndarray) -> np.ndarray:
  """Inverse of :func:`_srgb_to_lab`; out-of-gamut results are left unclipped."""
  fy = (lab[..., 0] + 16.0) / 116.0
  f = np.stack([fy + lab[..., 1] / 500.0, fy, fy - lab[..., 2] / 200.0], axis=-1)
  t = np.where(f > _LAB_DELTA, f**3, 3 * _LAB_DELTA**2 * (f - 4.0 / 29.0))
  linear = (t * _D65_WHITE) @ _XYZ_TO_RGB.T
  linear = np.maximum(linear, 0.0)  # negative linear light has no sRGB encoding
  return np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * linear ** (1 / 2.4) - 0.055)


# --- tone curves (KADID's curves.m) ------------------------------------------------------------
def _midpoint_curve(x: np.ndarray, c: float) -> np.ndarray:
  """KADID's one-point tone curve: MATLAB ``spline`` through (0, 0), (0.5, c), (1, 1), clipped.

  Through three points ``spline`` is the parabola ``y = x + (4c - 2) x (1 - x)``.
  """
  return np.clip(x + (4.0 * c - 2.0) * x * (1.0 - x), 0.0, 1.0)


# --- the distortions ----------------------------------------------------------------------------
# 01
def gaussian_blur(image: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
  """Gaussian low-pass, ``sigma`` in px, kernel radius ``ceil(2 sigma)`` (KADID: ``fspecial``
  with size ``2 ceil(2 sigma) + 1``), borders replicated (``imfilter(..., 'replicate')``).

  The 2-D kernel is separable, so it is applied as two normalised 1-D passes.
  """
  del rng
  radius = math.ceil(2 * sigma)
  offsets = np.arange(-radius, radius + 1, dtype=np.float64)
  kernel = np.exp(-offsets**2 / (2 * sigma**2))
  kernel /= kernel.sum()
  x = _to_unit(image)
  for axis in (0, 1):
    x = scipy.ndimage.correlate1d(x, kernel, axis=axis, mode="nearest")
  return _to_uint8(x)


# 07
def color_saturation_1(image: np.ndarray, factor: float, rng: np.random.Generator) -> np.ndarray:
  """Scales HSV saturation by ``factor`` keeping hue and value (KADID ``imcolorsaturate``).

  In HSV every channel is ``c = V (1 - S k(H))`` with ``V = max(R, G, B)``, so scaling ``S`` by
  ``f`` is ``c' = V - f (V - c)`` per pixel, no HSV round trip needed. ``f = 0`` gives grey at
  the value ``V``; ``f < 0`` pushes the other channels above ``V`` (complementary tint), clipped.
  """
  del rng
  x = _to_unit(image)
  value = x.max(axis=-1, keepdims=True)
  return _to_uint8(value - factor * (value - x))


# 09
def jpeg2000(image: np.ndarray, ratio: float, rng: np.random.Generator) -> np.ndarray:
  """JPEG 2000 round trip at compression ratio ``ratio`` = raw size / coded size (MATLAB's
  ``imwrite(..., 'CompressionRatio', r)``; OpenJPEG's ``rates``), lossy 9/7 wavelet with the
  colour transform, OpenJPEG's default 6 resolutions (fewer for images under 32 px).

  The coded size includes a header of ~250 bytes, so on small images the strongest ratios
  cannot be reached and the coder stops at the header plus the first bits.
  """
  del rng
  h, w = image.shape[:2]
  num_resolutions = max(1, min(6, int(math.log2(min(h, w))) + 1))
  buf = io.BytesIO()
  Image.fromarray(image, "RGB").save(buf, format="JPEG2000", quality_mode="rates",
                                     quality_layers=[float(ratio)], irreversible=True, mct=1,
                                     num_resolutions=num_resolutions)
  buf.seek(0)
  with Image.open(buf) as decoded:
    return np.array(decoded.convert("RGB"), dtype=np.uint8)


# 10
def jpeg(image: np.ndarray, quality: int, rng: np.random.Generator) -> np.ndarray:
  """JPEG round trip at IJG ``quality`` (libjpeg, as MATLAB's ``imwrite``), 4:2:0 chroma
  subsampling (libjpeg's default, set explicitly so Pillow's defaults cannot change it)."""
  del rng
  buf = io.BytesIO()
  Image.fromarray(image, "RGB").save(buf, format="JPEG", quality=int(quality), subsampling="4:2:0",
                                     optimize=False)
  buf.seek(0)
  with Image.open(buf) as decoded:
    return np.array(decoded.convert("RGB"), dtype=np.uint8)


# 11
def white_noise(image: np.ndarray, variance: float, rng: np.random.Generator) -> np.ndarray:
  """Additive white Gaussian noise, independent per pixel and RGB channel, ``N(0, variance)`` on
  the [0, 1] scale, then clipped (MATLAB ``imnoise(x, 'gaussian', 0, variance)``)."""
  x = _to_unit(image)
  return _to_uint8(x + rng.normal(0.0, math.sqrt(variance), size=x.shape))


# 13
def impulse_noise(image: np.ndarray, density: float, rng: np.random.Generator) -> np.ndarray:
  """Salt and pepper: each element (pixel and channel) independently becomes 0 with probability
  ``density / 2`` and 255 with probability ``density / 2`` (MATLAB ``imnoise(x, 'salt & pepper',
  density)`` on an RGB array, hence coloured specks)."""
  u = rng.random(image.shape)
  out = image.copy()
  out[u < density / 2] = 0
  out[(u >= density / 2) & (u < density)] = 255
  return out


# 16
def brighten(image: np.ndarray, amount: float, rng: np.random.Generator) -> np.ndarray:
  """KADID ``imbrighten``: the tone curve through (0.5, 0.5 + amount / 2) applied to each RGB
  channel (``J``) and to Lab lightness (``K``, a and b kept), averaged as ``(2 J + K) / 3`` so the
  lift is partly hue-preserving."""
  del rng
  x = _to_unit(image)
  c = 0.5 + amount / 2
  per_channel = _midpoint_curve(x, c)
  lab = _srgb_to_lab(x)
  lab[..., 0] = 100.0 * _midpoint_curve(lab[..., 0] / 100.0, c)
  via_lightness = np.clip(_lab_to_srgb(lab), 0.0, 1.0)
  return _to_uint8((2 * per_channel + via_lightness) / 3)


# 17
def darken(image: np.ndarray, amount: float, rng: np.random.Generator) -> np.ndarray:
  """KADID ``imdarken``: the tone curve through (0.5, 0.5 - amount / 2) on each RGB channel."""
  del rng
  lut = _to_uint8(_midpoint_curve(np.arange(256) / 255.0, 0.5 - amount / 2))
  return lut[image]


# 25
def contrast_change(image: np.ndarray, amount: float, rng: np.random.Generator) -> np.ndarray:
  """KADID ``imcontrastc``: MATLAB ``spline`` (not-a-knot) through (0, 0), (0.3, 0.25 - a/4),
  (0.5, 0.5), (0.7, 0.75 + a/4), (1, 1), clipped, on each RGB channel.

  ``amount = -0.2`` is the identity; above it contrast rises, below it falls.
  """
  del rng
  curve = scipy.interpolate.CubicSpline([0.0, 0.3, 0.5, 0.7, 1.0],
                                        [0.0, 0.25 - amount / 4, 0.5, 0.75 + amount / 4, 1.0],
                                        bc_type="not-a-knot")
  lut = _to_uint8(curve(np.arange(256) / 255.0))
  return lut[image]


# --- the table ----------------------------------------------------------------------------------
DISTORTIONS: dict[str, tuple[DistortionFn, list]] = {
    # KADID: 0.1, 0.5, 1, 2, 5. sigma = 0.1 is degenerate: its kernel weights off the centre are
    # exp(-50) ~ 2e-22, so level 1 equals the reference exactly (0.2 and 0.3 change < 1 % of
    # pixels). Replaced by 0.4: 4 % weight on each neighbour, ~46 dB PSNR, barely visible.
    "gaussian_blur": (gaussian_blur, [0.4, 0.5, 1.0, 2.0, 5.0]),
    # KADID's values: the factor on HSV saturation (0 = grey, < 0 = complementary tint).
    "color_saturation_1": (color_saturation_1, [0.4, 0.2, 0.1, 0.0, -0.4]),
    # KADID's values: the quality.
    "jpeg": (jpeg, [43, 36, 24, 7, 4]),
    # KADID's values: the variance on [0, 1] (std 8.1 to 25.5 grey levels).
    "white_noise": (white_noise, [0.001, 0.002, 0.003, 0.005, 0.01]),
    # KADID's values: the fraction of pixel channels hit.
    "impulse_noise": (impulse_noise, [0.001, 0.005, 0.01, 0.02, 0.03]),
    # KADID's values: the curve passes through (0.5, 0.5 + amount / 2).
    "brighten": (brighten, [0.1, 0.2, 0.4, 0.7, 1.1]),
    # KADID's values: the curve passes through (0.5, 0.5 - amount / 2).
    "darken": (darken, [0.05, 0.1, 0.2, 0.4, 0.8]),
    # KADID: 0.3, 0.15, 0, -0.4, -0.6. Because the identity is amount = -0.2 (see
    # contrast_change), these are contrast increases of 0.5, 0.35, 0.2 then decreases of 0.2 and
    # 0.4 away from it: not ordered mild -> strong, and levels 3 and 4 are equally far. Replaced by
    # contrast decreases of growing size that keep KADID's two decreases (-0.4, -0.6).
    "contrast_change": (contrast_change, [-0.3, -0.4, -0.5, -0.6, -0.8]),
}

# KADID: 16, 32, 45, 120, 400 (compression ratio). Only with Pillow's OpenJPEG codec; without it
# the type is left out rather than failing at the first call.
if features.check("jpg_2000"):
  DISTORTIONS["jpeg2000"] = (jpeg2000, [16, 32, 45, 120, 400])


def distort(image_uint8: np.ndarray, name: str, level_index: int, seed: int = 0) -> np.ndarray:
  """Applies distortion ``name`` at ``level_index`` (0 mildest .. 4 strongest) to an RGB image.

  Args:
    image_uint8: ``[H, W, 3] uint8``.
    name: a key of :data:`DISTORTIONS`.
    level_index: 0..4, the index into the type's five parameters.
    seed: seeds ``np.random.default_rng`` for the random types (noise); the result is a pure
      function of ``(image, name, level_index, seed)``.

  Returns:
    ``[H, W, 3] uint8``, the same shape as the input.

  Raises:
    ValueError: unknown ``name`` (the message lists the known ones), ``level_index`` outside
      0..4, or an image that is not ``[H, W, 3] uint8``.
  """
  if name not in DISTORTIONS:
    hint = ""
    if name == "jpeg2000":
      hint = " (jpeg2000 needs Pillow built with OpenJPEG: PIL.features.check('jpg_2000') is False)"
    raise ValueError(f"unknown distortion '{name}'{hint}; known: {', '.join(sorted(DISTORTIONS))}.")
  if (isinstance(level_index, bool) or not isinstance(level_index, (int, np.integer))
      or not 0 <= level_index < NUM_LEVELS):
    raise ValueError(f"level_index must be an int in 0..{NUM_LEVELS - 1} (0 mildest, "
                     f"{NUM_LEVELS - 1} strongest), got {level_index!r}. KADID's level numbers "
                     "1..5 are level_index + 1.")
  image_uint8 = np.asarray(image_uint8)
  if image_uint8.dtype != np.uint8 or image_uint8.ndim != 3 or image_uint8.shape[-1] != 3:
    raise ValueError(f"distort expects an [H, W, 3] uint8 RGB image, got shape "
                     f"{image_uint8.shape} dtype {image_uint8.dtype}; load files with "
                     "biqa_jax.data.images.load_image, convert [0, 1] floats with "
                     "np.rint(x * 255).astype(np.uint8).")
  fn, params = DISTORTIONS[name]
  out = fn(image_uint8, params[int(level_index)], np.random.default_rng(seed))
  if out.shape != image_uint8.shape or out.dtype != np.uint8:
    raise RuntimeError(f"distortion '{name}' returned shape {out.shape} dtype {out.dtype} for an "
                       f"input of shape {image_uint8.shape}; it must return uint8 of the same "
                       "shape (a bug in biqa_jax.data.distortions).")
  return out

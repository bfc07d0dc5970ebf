"""MATLAB conventions shared by the FR-IQA models (see shared/reference/fr_iqa.md §0).

Every model in this package reproduces an author's ``.m`` file; the pieces below are the MATLAB
built-ins those files call, written so that their edge handling matches MATLAB exactly:

* :func:`rgb2gray`            ``rgb2gray`` on a uint8 image: full-precision weights, result rounded.
* :func:`gaussian_window`     ``fspecial('gaussian', n, sigma)`` (normalised to sum 1).
* :func:`filter2_valid`       ``filter2(w, x, 'valid')`` (correlation, no padding).
* :func:`conv2_same`          ``conv2(x, k, 'same')`` for odd ``k`` (true convolution, zero padding).
* :func:`box_downsample`      ``imfilter(x, ones(f)/f^2, 'symmetric', 'same')`` (rule A) or
  ``conv2(x, fspecial('average', f), 'same')`` (rule B), then ``x(1:f:end, 1:f:end)``.
* :func:`auto_factor`         the SSIM family's ``f = max(1, round(min(M, N) / 256))``.

All functions act on one image ``[H, W]`` (float); the models ``vmap`` them over batches.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

# First row of inv([1 0.956 0.621; 1 -0.272 -0.647; 1 -1.106 1.703]), as MATLAB/Octave rgb2gray.
RGB2GRAY_WEIGHTS = (0.298936021293775, 0.587043074451121, 0.114020904255103)


def rgb2gray(rgb: jax.Array) -> jax.Array:
  """``rgb2gray`` of a uint8 image given as floats: ``[..., H, W, 3] -> [..., H, W]``, rounded.

  MATLAB returns uint8 for uint8 input, i.e. rounds half away from zero; values are >= 0 here,
  so ``floor(y + 0.5)`` is that rounding.
  """
  r, g, b = RGB2GRAY_WEIGHTS
  y = r * rgb[..., 0] + g * rgb[..., 1] + b * rgb[..., 2]
  return jnp.clip(jnp.floor(y + 0.5), 0.0, 255.0)


def auto_factor(height: int, width: int) -> int:
  """``max(1, round(min(M, N) / 256))`` with MATLAB's round (half away from zero)."""
  return max(1, int(np.floor(min(height, width) / 256 + 0.5)))


def gaussian_window(size: int, sigma: float) -> np.ndarray:
  """``fspecial('gaussian', size, sigma)``: ``[size, size]`` float64, sums to 1."""
  x = np.arange(size, dtype=np.float64) - (size - 1) / 2
  g = np.exp(-(x[:, None] ** 2 + x[None, :] ** 2) / (2 * sigma ** 2))
  return g / g.sum()


def filter2_valid(image: jax.Array, window) -> jax.Array:
  """``filter2(window, image, 'valid')``: ``[H, W] -> [H-h+1, W-w+1]`` (correlation)."""
  kernel = jnp.asarray(window, dtype=image.dtype)
  out = jax.lax.conv_general_dilated(
      image[None, None], kernel[None, None], window_strides=(1, 1), padding="VALID",
      precision=jax.lax.Precision.HIGHEST)
  return out[0, 0]


def conv2_same(image: jax.Array, kernel) -> jax.Array:
  """``conv2(image, kernel, 'same')`` for an odd-sized kernel: zero padding, kernel flipped."""
  kernel = np.asarray(kernel, dtype=np.float64)
  kh, kw = kernel.shape
  if kh % 2 == 0 or kw % 2 == 0:
    raise ValueError(f"conv2_same supports odd kernel sizes only, got {kernel.shape}.")
  padded = jnp.pad(image, ((kh // 2, kh // 2), (kw // 2, kw // 2)))
  return filter2_valid(padded, kernel[::-1, ::-1].copy())


def box_downsample(image: jax.Array, factor: int, padding: str) -> jax.Array:
  """Average over ``factor x factor`` boxes, then keep ``(1:f:end, 1:f:end)``: ``[H, W] -> [ceil(H/f), ceil(W/f)]``.

  MATLAB centres an even ``f x f`` filter at index ``floor((f+1)/2)``, so output sample ``k``
  (0-based) averages input rows ``k*f - floor((f-1)/2)`` ... ``+ f-1``. Rows outside the image are
  mirrored (``padding='symmetric'``, imfilter's option, ssim.m/msssim.m) or zero
  (``padding='zero'``, conv2 'same', FSIM/VSI/MDSI/GMSD); the divisor is always ``f*f``.
  """
  if factor == 1:
    return image
  before = (factor - 1) // 2
  after = factor - 1 - before
  pad_width = ((before, after), (before, after))
  if padding == "symmetric":
    padded = jnp.pad(image, pad_width, mode="symmetric")
  elif padding == "zero":
    padded = jnp.pad(image, pad_width)
  else:
    raise ValueError(f"padding must be 'symmetric' or 'zero', got {padding!r}.")
  summed = jax.lax.reduce_window(padded, jnp.zeros((), image.dtype), jax.lax.add,
                                 (factor, factor), (factor, factor), "VALID")
  return summed / (factor * factor)


def over_batch(fn, *images: jax.Array):
  """Apply a one-pair function ``fn(*[H, W, C]) -> []`` to ``[..., H, W, C]`` inputs -> ``[...]``."""
  lead = images[0].shape[:-3]
  flat = [x.reshape((-1,) + x.shape[-3:]) for x in images]
  return jax.vmap(fn)(*flat).reshape(lead)

"""Full-reference IQA models used by gMAD, each matching its authors' MATLAB code.

One model per module (``psnr``, ``ssim``, ``ms_ssim``, ``gmsd``, ``mdsi``, ``vifp``, ``fsim``
(FSIM and FSIMc), ``vsi``, ``nlpd``, ``vif``); each module's function takes
``ref, dist: [..., H, W, C]`` floats on the 0-255 scale (C = 3 for RGB, 1 for grey) and returns
``[...]``; ``ref`` is the reference (the order matters for MDSI, VIFp and VIF). The conventions that make the numbers equal the
MATLAB ones (``rgb2gray`` rounding, automatic downsampling, 'valid' vs 'same' filtering, N-1
std) are in :mod:`biqa_jax.fr_iqa._matlab` and shared/reference/fr_iqa.md.

* :data:`MODELS`        name -> :class:`FRModel` (function, direction, minimum size).
* :func:`compute`       one pair of NumPy images -> float.
* :func:`compute_batch` ``[N, H, W(, 3)]`` batches of equal size -> ``[N]`` (one ``jit`` compile per shape).

Input: uint8 (or real-valued on the 0-255 scale) ``H x W x 3`` RGB or ``H x W`` grey arrays.
Grey-only models (SSIM, MS-SSIM, GMSD, VIFp, VIF, NLPD) convert RGB with MATLAB's uint8 ``rgb2gray``
(NLPD then divides by 255, as ``NLP_dist.m`` expects [0, 1]); colour
models given grey input: MDSI and VSI replicate the grey channel to RGB, FSIM/FSIMc use it as luma
with no chroma (as ``FeatureSIM.m`` does), so FSIMc equals FSIM. PSNR uses whatever channels it gets.

Flat (constant) images: VIFp, VIF, FSIM/FSIMc and VSI are 0/0 = NaN there, as in the MATLAB code
(no signal, no saliency or no phase congruency to weight by); the other models give their ideal value
for identical flat images.

``dtype=np.float64`` computes in double precision (under ``jax.enable_x64``) for validation against
MATLAB; the default is float32 (agrees with float64 to ~1e-6 relative on the test images).
Every model here reproduces the authors' code run in GNU Octave to ~1e-10 relative in float64
(tests/test_fr_iqa_reference.py).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import NamedTuple

import jax
import numpy as np

from biqa_jax.fr_iqa import fsim, gmsd, mdsi, ms_ssim, nlpd, psnr, ssim, vif, vifp, vsi


class FRModel(NamedTuple):
  """A full-reference model: ``fn(ref, dist, **options) -> [...]``, its direction and minimum size."""
  fn: Callable
  direction: str  # "higher" or "lower" is better
  min_size: int   # smallest allowed min(H, W)


MODELS = {
    "psnr": FRModel(psnr.psnr, psnr.DIRECTION, psnr.MIN_SIZE),
    "ssim": FRModel(ssim.ssim, ssim.DIRECTION, ssim.MIN_SIZE),
    "ms_ssim": FRModel(ms_ssim.ms_ssim, ms_ssim.DIRECTION, ms_ssim.MIN_SIZE),
    "gmsd": FRModel(gmsd.gmsd, gmsd.DIRECTION, gmsd.MIN_SIZE),
    "mdsi": FRModel(mdsi.mdsi, mdsi.DIRECTION, mdsi.MIN_SIZE),
    "vifp": FRModel(vifp.vifp, vifp.DIRECTION, vifp.MIN_SIZE),
    "fsim": FRModel(fsim.fsim, fsim.DIRECTION, fsim.MIN_SIZE),
    "fsimc": FRModel(fsim.fsimc, fsim.DIRECTION, fsim.MIN_SIZE),
    "vsi": FRModel(vsi.vsi, vsi.DIRECTION, vsi.MIN_SIZE),
    "nlpd": FRModel(nlpd.nlpd, nlpd.DIRECTION, nlpd.MIN_SIZE),
    "vif": FRModel(vif.vif, vif.DIRECTION, vif.MIN_SIZE),
}


def _model(name: str) -> FRModel:
  if name not in MODELS:
    raise ValueError(f"Unknown FR-IQA model {name!r}; choose one of {sorted(MODELS)}.")
  return MODELS[name]


def _check_options(name: str, options: dict) -> None:
  allowed = [p.name for p in inspect.signature(MODELS[name].fn).parameters.values()
             if p.kind is inspect.Parameter.KEYWORD_ONLY]
  unknown = sorted(set(options) - set(allowed))
  if unknown:
    raise TypeError(f"{name} has no option(s) {unknown}; its options are {allowed or 'none'}.")


def _as_images(images, what: str, name: str, batched: bool) -> np.ndarray:
  """Validate and return ``[N, H, W, C]`` float64 (C = 1 or 3)."""
  arr = np.asarray(images)
  if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
    raise ValueError(f"{what} must be a real-valued image array, got dtype {arr.dtype}.")
  base = arr.ndim - 1 if batched else arr.ndim
  shape_hint = "[N, H, W] or [N, H, W, 3]" if batched else "H x W or H x W x 3"
  if base == 3 and arr.shape[-1] in (1, 3):
    pass
  elif base == 2:
    arr = arr[..., None]
  else:
    raise ValueError(f"{what} must have shape {shape_hint}, got {arr.shape}.")
  arr = arr.astype(np.float64)
  if not np.all(np.isfinite(arr)):
    raise ValueError(f"{what} contains NaN or inf values; FR-IQA needs finite pixel values.")
  if arr.size and (arr.min() < 0 or arr.max() > 255):
    raise ValueError(f"{what} has values in [{arr.min():g}, {arr.max():g}]; the models expect the "
                     "0-255 scale (uint8 images, or floats multiplied by 255).")
  height, width = arr.shape[-3:-1]
  minimum = MODELS[name].min_size
  if min(height, width) < minimum:
    raise ValueError(f"{name} needs images of at least {minimum}x{minimum} pixels, got {height}x{width}.")
  return arr if batched else arr[None]


@functools.cache
def _jitted(name: str, options: tuple) -> Callable:
  # The model functions vmap over the leading axes; jit caches one compile per input shape/dtype.
  return jax.jit(functools.partial(MODELS[name].fn, **dict(options)))


def _run(name, refs, dists, dtype, options, batched) -> np.ndarray:
  _model(name)
  _check_options(name, options)
  dtype = np.dtype(dtype)
  if dtype not in (np.float32, np.float64):
    raise ValueError(f"dtype must be np.float32 or np.float64, got {dtype}.")
  x = _as_images(refs, "reference image(s)", name, batched)
  y = _as_images(dists, "distorted image(s)", name, batched)
  if x.shape != y.shape:
    raise ValueError(f"Reference and distorted images differ in size: {x.shape[1:]} vs {y.shape[1:]} "
                     f"({'batches ' + str(x.shape[0]) + ' vs ' + str(y.shape[0]) if batched else 'one pair'}).")
  fn = _jitted(name, tuple(sorted(options.items())))
  with jax.enable_x64(dtype == np.float64):
    out = fn(x.astype(dtype), y.astype(dtype))
    return np.asarray(out, dtype=np.float64)


def compute(name: str, ref, dist, *, dtype=np.float32, **options) -> float:
  """Score one pair. ``ref, dist``: ``H x W x 3`` or ``H x W`` arrays on the 0-255 scale.

  ``options`` are the model's keyword options (e.g. ``downsample=False`` for SSIM,
  ``combination='mult'`` for MDSI); defaults are the reference code's defaults.
  """
  return float(_run(name, ref, dist, dtype, options, batched=False)[0])


def compute_batch(name: str, refs, dists, *, dtype=np.float32, **options) -> np.ndarray:
  """Score ``[N, H, W(, 3)]`` same-size batches -> ``[N]`` float64 (computed in ``dtype``)."""
  return _run(name, refs, dists, dtype, options, batched=True)

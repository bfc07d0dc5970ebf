"""Stage-1 annotators for the embedded default data (method.md §2, "noisy annotators").

Each annotator maps ``(image, reference, level)`` to a score, higher = better; a pair's label is
``q_j = 1`` iff ``score_j(x) >= score_j(y)``. Until the full FR-IQA suite is wired in, three are
available, chosen to disagree in useful ways:

* ``level_order``: ``-level`` (0 for a reference); knows nothing about content or type.
* ``psnr``: PSNR in dB against the reference on RGB uint8 (data range 255); a reference scores
  ``PSNR_OF_IDENTICAL`` = 100 dB (PSNR of identical images is infinite; any finite cap above all
  distorted scores gives the same labels).
* ``ssim``: SSIM (scikit-image, Gaussian window, per-channel mean) against the reference.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
from skimage.metrics import structural_similarity
from tqdm.auto import tqdm

from biqa_jax.data.image_set import ImageSet

PSNR_OF_IDENTICAL = 100.0


def level_order(image: np.ndarray, reference: np.ndarray, level: int) -> float:
  del image, reference
  return -float(level)


def psnr(image: np.ndarray, reference: np.ndarray, level: int) -> float:
  del level
  mse = np.mean((image.astype(np.float64) - reference.astype(np.float64))**2)
  return PSNR_OF_IDENTICAL if mse == 0 else float(min(PSNR_OF_IDENTICAL, 10 * np.log10(255.0**2 / mse)))


def ssim(image: np.ndarray, reference: np.ndarray, level: int) -> float:
  del level
  return float(structural_similarity(reference, image, channel_axis=-1, data_range=255,
                                     gaussian_weights=True, sigma=1.5, use_sample_covariance=False))


ANNOTATORS: dict[str, Callable[[np.ndarray, np.ndarray, int], float]] = {
    "level_order": level_order, "psnr": psnr, "ssim": ssim,
}


def annotator_scores(image_set: ImageSet, names: Sequence[str]) -> np.ndarray:
  """``[N, J]`` float32 scores of every image by every named annotator (higher = better)."""
  unknown = [n for n in names if n not in ANNOTATORS]
  if unknown:
    raise ValueError(f"unknown annotator(s) {unknown} in config.stage1.annotators; "
                     f"known: {sorted(ANNOTATORS)}.")
  scores = np.zeros((len(image_set), len(names)), np.float32)
  for i in tqdm(range(len(image_set)), desc="annotator scores", leave=False):
    ref = image_set.images[image_set.reference_index[i]]
    for j, name in enumerate(names):
      scores[i, j] = ANNOTATORS[name](image_set.images[i], ref, int(image_set.level[i]))
  return scores

"""Full-resolution inference: score a list of images of any sizes, batched by shape.

One jit compilation per distinct (batch, H, W); images of equal size share batches, the last
batch of a shape is padded to the batch size (repeating an image) so the compiled shape repeats.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from typing import Any, Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm


def predict(apply_fn: Callable[[Any, jnp.ndarray], jnp.ndarray], params: Any,
            images: Sequence[np.ndarray], batch_size: int = 8, progress: bool = False) -> np.ndarray:
  """Scores ``[N]`` float32 of uint8 ``[H, W, 3]`` images (any sizes) with ``apply_fn(params, x)``."""
  if batch_size < 1:
    # range(0, n, batch_size) would be empty for a negative size and every score left at 0.
    raise ValueError(f"batch_size={batch_size}; it must be a positive number of images per batch.")
  by_shape: dict[tuple[int, ...], list[int]] = defaultdict(list)
  for i, image in enumerate(images):
    by_shape[image.shape].append(i)
  scores = np.zeros(len(images), np.float32)
  jitted = _jit_scores(apply_fn)
  batches = [(idx[k:k + batch_size]) for idx in by_shape.values() for k in range(0, len(idx), batch_size)]
  for chunk in tqdm(batches, desc="scoring", disable=not progress, leave=False):
    padded = chunk + [chunk[-1]] * (batch_size - len(chunk))
    x = np.stack([images[i] for i in padded])
    scores[chunk] = np.asarray(jitted(params, x))[: len(chunk)]
  return scores


@functools.lru_cache(maxsize=8)
def _jit_scores(apply_fn):
  @jax.jit
  def scores(params, images_uint8):
    return apply_fn(params, images_uint8.astype(jnp.float32) / 255.0)

  return scores

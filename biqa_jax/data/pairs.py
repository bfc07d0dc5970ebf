"""Pair sampling for Stage 1 (D1, annotator labels) and Stage 2 (D2, probability labels).

D1 pair types (method.md §2), each drawn in equal shares:

* ``same_type``      same reference, same distortion type, different levels;
* ``same_content``   same reference, different types and different levels;
* ``cross_content``  different contents, different types and different levels;
* ``with_pristine``  different contents, one of the two undistorted.

The order inside a pair is random, so "x is better" is not tied to a position.
D2 pairs (method.md §3) are drawn uniformly among distinct images of one database's split and
labelled ``p = Phi((mu_x - mu_y) / sqrt(s_x^2 + s_y^2))`` (paper Eq. 7).
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np

from biqa_jax import losses
from biqa_jax.data.image_set import PRISTINE, ImageSet

D1_PAIR_TYPES = ("same_type", "same_content", "cross_content", "with_pristine")


@dataclasses.dataclass(frozen=True)
class Pairs:
  """``x, y: [P]`` int32 image indices; ``labels``: ``[P, J]`` uint8 (D1) or ``[P]`` float32 (D2)."""

  x: np.ndarray
  y: np.ndarray
  labels: np.ndarray

  def __len__(self) -> int:
    return len(self.x)


def _distortion_table(image_set: ImageSet, indices: np.ndarray):
  """``(refs [R], contents [R], pristine [R], table [R, T, 5])`` of image indices (-1 = absent)."""
  refs = np.unique(image_set.reference_index[indices])
  ref_row = {int(r): k for k, r in enumerate(refs)}
  num_types = len(image_set.distortion_names)
  table = np.full((len(refs), num_types, 5), -1, np.int64)
  pristine = np.full(len(refs), -1, np.int64)
  for i in indices:
    k = ref_row[int(image_set.reference_index[i])]
    if image_set.distortion[i] == PRISTINE:
      pristine[k] = i
    else:
      table[k, image_set.distortion[i], image_set.level[i] - 1] = i
  return refs, image_set.content_id[refs], pristine, table


def _two_distinct(rng: np.random.Generator, n: int, size: int) -> tuple[np.ndarray, np.ndarray]:
  a = rng.integers(0, n, size)
  b = (a + rng.integers(1, n, size)) % n  # uniform over the n - 1 other values
  return a, b


def _draw_d1(rng, kind, contents, pristine, table, size):
  num_refs, num_types, num_levels = table.shape
  if kind == "same_type":
    r = rng.integers(0, num_refs, size)
    t = rng.integers(0, num_types, size)
    l1, l2 = _two_distinct(rng, num_levels, size)
    return table[r, t, l1], table[r, t, l2]
  if num_types < 2 and kind in ("same_content", "cross_content"):
    raise ValueError(f"pair type {kind!r} needs at least 2 distortion types; the data has "
                     f"{num_types}. Drop it from config.stage1.pair_types or add types.")
  l1, l2 = _two_distinct(rng, num_levels, size)
  t1 = rng.integers(0, num_types, size)
  t2 = (t1 + rng.integers(1, max(num_types, 2), size)) % max(num_types, 1)
  if kind == "same_content":
    r = rng.integers(0, num_refs, size)
    return table[r, t1, l1], table[r, t2, l2]
  r1, r2 = _two_distinct(rng, num_refs, size)
  if kind == "cross_content":
    x, y = table[r1, t1, l1], table[r2, t2, l2]
  elif kind == "with_pristine":
    x, y = table[r1, t1, l1], pristine[r2]
  else:
    raise ValueError(f"unknown D1 pair type {kind!r}; known: {D1_PAIR_TYPES}.")
  different = contents[r1] != contents[r2]
  return np.where(different, x, -1), y


def sample_d1_pairs(image_set: ImageSet, indices: np.ndarray, annotator_scores: np.ndarray,
                    num_pairs: int, seed: int,
                    pair_types: Sequence[str] = D1_PAIR_TYPES) -> Pairs:
  """D1 pairs among ``indices`` with binary labels ``q_j = [s_j(x) >= s_j(y)]``.

  ``annotator_scores: [N, J]`` (higher = better, rows = all images of ``image_set``).
  Pairs whose images are absent from ``indices`` are redrawn.
  """
  if not pair_types:
    raise ValueError("config.stage1.pair_types is empty.")
  unknown = [k for k in pair_types if k not in D1_PAIR_TYPES]
  if unknown:  # checked here: a type whose share rounds to 0 pairs is never drawn
    raise ValueError(f"unknown D1 pair type(s) {unknown} in config.stage1.pair_types; "
                     f"known: {D1_PAIR_TYPES}.")
  indices = np.asarray(indices)
  if not np.all(np.isfinite(annotator_scores[indices])):
    rows, cols = np.nonzero(~np.isfinite(annotator_scores[indices]))
    bad = [(image_set.names[indices[r]], int(c)) for r, c in zip(rows[:5], cols[:5])]
    raise ValueError(f"annotator scores contain NaN/inf (first (image, annotator column): {bad}); "
                     "fix the annotator or drop those images before sampling pairs.")
  rng = np.random.default_rng(seed)
  _, contents, pristine, table = _distortion_table(image_set, indices)
  if len(contents) < 2 or np.unique(contents).size < 2:
    raise ValueError("D1 needs references of at least 2 contents in the training split.")
  shares = np.full(len(pair_types), num_pairs // len(pair_types))
  shares[: num_pairs % len(pair_types)] += 1
  xs, ys = [], []
  for kind, share in zip(pair_types, shares):
    # Seeded with an empty array so a type whose share is 0 (num_pairs < #types) concatenates.
    got_x, got_y, have = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)], 0
    for _ in range(1000):
      if have >= share:
        break
      x, y = _draw_d1(rng, kind, contents, pristine, table, 2 * (share - have) + 16)
      ok = (x >= 0) & (y >= 0)
      got_x.append(x[ok]), got_y.append(y[ok])
      have += int(ok.sum())
    if have < share:
      raise ValueError(f"could not draw D1 pairs of type {kind!r}: too few admissible images.")
    xs.append(np.concatenate(got_x)[:share]), ys.append(np.concatenate(got_y)[:share])
  x, y = np.concatenate(xs), np.concatenate(ys)
  swap = rng.random(len(x)) < 0.5
  x, y = np.where(swap, y, x), np.where(swap, x, y)
  order = rng.permutation(len(x))
  x, y = x[order].astype(np.int32), y[order].astype(np.int32)
  labels = (annotator_scores[x] >= annotator_scores[y]).astype(np.uint8)
  return Pairs(x, y, labels)


def sample_d2_pairs(image_set: ImageSet, indices: np.ndarray, num_pairs: int, seed: int) -> Pairs:
  """``num_pairs`` pairs of distinct images among ``indices`` with Eq.-7 labels ``[P]``."""
  indices = np.asarray(indices)
  if len(indices) < 2:
    raise ValueError(f"D2 needs at least 2 images in the split; got {len(indices)}.")
  for field in ("mos", "std"):
    values = getattr(image_set, field)[indices]
    if not np.all(np.isfinite(values)):
      bad = indices[~np.isfinite(values)][:5]
      raise ValueError(f"{field} is NaN/inf for images {[image_set.names[i] for i in bad]}; "
                       "fix or drop them before sampling pairs.")
  rng = np.random.default_rng(seed)
  a, b = _two_distinct(rng, len(indices), num_pairs)
  x, y = indices[a].astype(np.int32), indices[b].astype(np.int32)
  labels = np.asarray(losses.label_prob(image_set.mos[x], image_set.mos[y], image_set.std[x],
                                        image_set.std[y]), np.float32)
  return Pairs(x, y, labels)

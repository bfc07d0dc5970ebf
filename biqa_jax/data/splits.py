"""Reference-disjoint train/test splits (method.md §3: 80 % of the reference contents and all
their distorted versions train, the rest test)."""

from __future__ import annotations

import numpy as np


def reference_disjoint_split(content_id: np.ndarray, test_fraction: float,
                             seed: int) -> tuple[np.ndarray, np.ndarray]:
  """Returns ``(train_indices, test_indices)`` into ``content_id: [N]``.

  Whole contents go to one side: ``round(test_fraction * #contents)`` of them (at least one, and
  at least one left for training) are drawn for the test side with ``seed``. Images that share a
  content id (e.g. the same scene in two databases, or a stereo pair) therefore never straddle the
  split.
  """
  if not 0.0 < test_fraction < 1.0:
    raise ValueError(f"test_fraction must be in (0, 1); got {test_fraction}.")
  contents = np.unique(content_id)
  if len(contents) < 2:
    raise ValueError(f"a reference-disjoint split needs at least 2 contents; got {len(contents)}.")
  num_test = int(np.clip(round(test_fraction * len(contents)), 1, len(contents) - 1))
  rng = np.random.default_rng(seed)
  test_contents = rng.choice(contents, size=num_test, replace=False)
  is_test = np.isin(content_id, test_contents)
  return np.flatnonzero(~is_test), np.flatnonzero(is_test)

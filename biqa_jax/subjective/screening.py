"""ITU-R BT.500 observer screening and MOS (method.md §7), pure NumPy.

Input everywhere: ``ratings: [S, I] float`` — one row per subject (rater), one column per image,
scores on the 0 (worst) … 100 (best) scale, ``NaN`` where the subject did not rate the image.

BT.500's own conventions, per image ``i`` over the ``N_i`` subjects who rated it:

* mean ``ū_i``; standard deviation ``s_i`` with ``N_i − 1`` in the denominator;
* central moments ``m_k = Σ (u − ū_i)^k / N_i`` (``N_i``, not ``N_i − 1``);
* kurtosis ``β2_i = m_4 / m_2²``; ``t_i = 2`` if ``2 ≤ β2_i ≤ 4`` (roughly normal) else ``√20``.

Per subject ``j`` (:func:`bt500_counts`): ``P_j`` = number of its ratings with
``u ≥ ū_i + t_i·s_i``, ``Q_j`` = number with ``u ≤ ū_i − t_i·s_i``, ``N_j`` = number of images it
rated. :func:`bt500_screen` rejects subject ``j`` iff

    (P_j + Q_j) / N_j > 0.05   and   |P_j − Q_j| / (P_j + Q_j) < 0.3

(both strict, so a subject exactly on a threshold is kept). One pass, no iteration: the image
statistics include every subject, as in BT.500.

Choices where BT.500 is silent (each tested in ``tests/test_subjective_screening.py``):

* An image rated by fewer than 2 subjects, or on which all its raters agree (``s_i = 0``), gives no
  P/Q counts: with ``s_i = 0`` every rating would be both "≥ ū + t·s" and "≤ ū − t·s". Its ratings
  still count in ``N_j``.
* The comparisons are made in squared form, ``(u − ū)² ≥ t²·s²`` on the right side of the mean,
  and ``β2`` is compared as ``2·m_2² ≤ m_4 ≤ 4·m_2²``; mathematically the same, but a rating or a
  kurtosis exactly on a boundary is classified exactly when the data are exact in binary
  (no rounding of ``√20`` or of a division).

:func:`mos` gives the mean opinion score and its standard deviation (``N − 1``) per image from the
subjects that were not rejected. With ``remove_outlier_ratings=True`` it also applies the paper's
per-rating removal (method.md §7: 2.3–2.8 % of ratings per round): the image statistics and ``t_i``
are recomputed on the kept subjects, and a rating is dropped when it lies on or beyond
``ū_i ± t_i·s_i`` — exactly the ratings the P/Q counts would flag — before the MOS is taken.
"""

from __future__ import annotations

import dataclasses

import numpy as np

# BT.500's thresholds: share of a subject's ratings that are outliers, and their (a)symmetry.
OUTLIER_SHARE = 0.05
ASYMMETRY = 0.3
T_NORMAL = 2.0
T_NON_NORMAL_SQ = 20.0  # t = √20 when β2 is outside [2, 4]; kept squared (see module docstring)


def _as_ratings(ratings) -> np.ndarray:
  try:
    arr = np.asarray(ratings, dtype=np.float64)
  except (TypeError, ValueError) as err:
    raise ValueError(f"ratings must be a numeric [S, I] array (subjects × images): {err}") from err
  if arr.ndim != 2:
    raise ValueError(
        f"ratings must be 2-D [S, I] (one row per subject, one column per image, NaN = not "
        f"rated), got shape {arr.shape}.")
  if np.isinf(arr).any():
    s, i = np.argwhere(np.isinf(arr))[0]
    raise ValueError(f"ratings contain ±inf (first at subject {s}, image {i}); use NaN for "
                     f"'not rated'.")
  return arr


@dataclasses.dataclass(frozen=True)
class ImageStats:
  """Per-image BT.500 statistics over the subjects who rated each image (all ``[I]``)."""
  n: np.ndarray         # int, number of ratings N_i
  mean: np.ndarray      # ū_i (NaN if N_i = 0)
  std: np.ndarray       # s_i with N_i − 1 (NaN if N_i < 2)
  var: np.ndarray       # s_i² = Σd²/(N_i − 1), kept so the outlier test takes no square root
  kurtosis: np.ndarray  # β2_i = m4 / m2² (NaN if N_i < 2 or m2 = 0)
  t_sq: np.ndarray      # t_i²: 4 or 20 (NaN where no P/Q counts are made)
  usable: np.ndarray    # bool, N_i ≥ 2 and s_i > 0: the image gives P/Q counts


def image_stats(ratings) -> ImageStats:
  """BT.500 statistics per image of ``ratings[S, I]`` (see the module docstring)."""
  r = _as_ratings(ratings)
  rated = ~np.isnan(r)
  n = rated.sum(axis=0)
  with np.errstate(invalid="ignore", divide="ignore"):
    mean = np.where(n > 0, np.nansum(r, axis=0) / np.maximum(n, 1), np.nan)
    dev = np.where(rated, r - mean, 0.0)
    s2 = (dev ** 2).sum(axis=0)
    s4 = (dev ** 4).sum(axis=0)
    # Constant columns are detected from the data, not from s2 == 0: the mean of equal floats
    # need not equal them exactly, which would leave a tiny spurious spread.
    lo = np.where(rated, r, np.inf).min(axis=0)
    hi = np.where(rated, r, -np.inf).max(axis=0)
    usable = (n >= 2) & (hi > lo)
    var = np.where(usable, s2 / np.maximum(n - 1, 1), np.where(n >= 2, 0.0, np.nan))
    std = np.sqrt(var)
    # β2 = m4 / m2² = N·Σd⁴ / (Σd²)²; the test 2 ≤ β2 ≤ 4 is done without dividing.
    kurtosis = np.where(usable, n * s4 / np.where(usable, s2, 1.0) ** 2, np.nan)
    normal = (2.0 * s2 ** 2 <= n * s4) & (n * s4 <= 4.0 * s2 ** 2)
  t_sq = np.where(usable, np.where(normal, T_NORMAL ** 2, T_NON_NORMAL_SQ), np.nan)
  return ImageStats(n=n, mean=mean, std=std, var=var, kurtosis=kurtosis, t_sq=t_sq,
                    usable=usable)


def _outlier_sides(r: np.ndarray, stats: ImageStats) -> tuple[np.ndarray, np.ndarray]:
  """Boolean ``[S, I]``: rating ``≥ ū + t·s`` (high) and ``≤ ū − t·s`` (low), usable images only."""
  with np.errstate(invalid="ignore"):
    dev = r - stats.mean
    # u ≥ ū + t·s  ⇔  u − ū > 0 and (u − ū)² ≥ t²·s²  (and the mirror image for Q).
    far = (dev ** 2 >= stats.t_sq * stats.var) & stats.usable & ~np.isnan(r)
    high = far & (dev > 0)
    low = far & (dev < 0)
  return high, low


@dataclasses.dataclass(frozen=True)
class SubjectCounts:
  """BT.500 counts per subject (all ``[S]`` int): ``p`` high outliers, ``q`` low, ``n`` rated."""
  p: np.ndarray
  q: np.ndarray
  n: np.ndarray


def bt500_counts(ratings) -> SubjectCounts:
  """``P_j``, ``Q_j`` and ``N_j`` of BT.500 for every subject of ``ratings[S, I]``."""
  r = _as_ratings(ratings)
  high, low = _outlier_sides(r, image_stats(r))
  return SubjectCounts(p=high.sum(axis=1), q=low.sum(axis=1), n=(~np.isnan(r)).sum(axis=1))


def _reject_from_counts(c: SubjectCounts, outlier_share: float, asymmetry: float) -> np.ndarray:
  pq = c.p + c.q
  with np.errstate(invalid="ignore", divide="ignore"):
    share = np.where(c.n > 0, pq / np.maximum(c.n, 1), 0.0)
    skew = np.where(pq > 0, np.abs(c.p - c.q) / np.maximum(pq, 1), np.inf)
  return (share > outlier_share) & (skew < asymmetry)


def bt500_screen(ratings, *, outlier_share: float = OUTLIER_SHARE,
                 asymmetry: float = ASYMMETRY) -> np.ndarray:
  """Subjects to reject under BT.500: ``ratings[S, I]`` (NaN = not rated) → bool ``[S]``.

  ``True`` = rejected: ``(P + Q)/N > outlier_share`` and ``|P − Q|/(P + Q) < asymmetry``
  (BT.500's 0.05 and 0.3 by default). A subject who rated nothing is never rejected.
  """
  return _reject_from_counts(bt500_counts(ratings), outlier_share, asymmetry)


@dataclasses.dataclass(frozen=True)
class Rejection:
  subject: int
  p: int
  q: int
  n: int
  why: str


def explain_rejections(ratings, *, outlier_share: float = OUTLIER_SHARE,
                       asymmetry: float = ASYMMETRY) -> list[Rejection]:
  """The rejected subjects of :func:`bt500_screen`, each with its counts and a sentence why."""
  c = bt500_counts(ratings)
  rejected = _reject_from_counts(c, outlier_share, asymmetry)
  out = []
  for j in np.flatnonzero(rejected):
    p, q, n = int(c.p[j]), int(c.q[j]), int(c.n[j])
    out.append(Rejection(
        subject=int(j), p=p, q=q, n=n,
        why=(f"{p + q} of its {n} ratings lie outside mean ± t·std of their image (P={p} above, "
             f"Q={q} below): (P+Q)/N = {(p + q) / n:.3f} > {outlier_share} and |P−Q|/(P+Q) = "
             f"{abs(p - q) / (p + q):.3f} < {asymmetry} (ITU-R BT.500 observer screening)")))
  return out


def outlier_ratings(ratings) -> np.ndarray:
  """Bool ``[S, I]``: individual ratings on or beyond ``ū_i ± t_i·s_i`` of their image."""
  r = _as_ratings(ratings)
  high, low = _outlier_sides(r, image_stats(r))
  return high | low


def mos(ratings, rejected=None, *, remove_outlier_ratings: bool = False
        ) -> tuple[np.ndarray, np.ndarray]:
  """Mean opinion score and its std per image from the subjects that were not rejected.

  Args:
    ratings: ``[S, I]`` float, NaN = not rated.
    rejected: bool ``[S]`` from :func:`bt500_screen` (``None``: keep everyone).
    remove_outlier_ratings: also drop single ratings on or beyond ``ū ± t·s`` of their image,
      with the statistics recomputed on the kept subjects (method.md §7; see the module docstring).

  Returns:
    ``(mos[I], std[I])``: mean and standard deviation with ``N − 1`` of the remaining ratings;
    ``mos`` is NaN for an image with no remaining rating, ``std`` NaN with fewer than two.
  """
  r = _as_ratings(ratings)
  kept = _kept_ratings(r, rejected, remove_outlier_ratings)
  n = (~np.isnan(kept)).sum(axis=0)
  with np.errstate(invalid="ignore", divide="ignore"):
    mean = np.where(n > 0, np.nansum(kept, axis=0) / np.maximum(n, 1), np.nan)
    dev = np.where(np.isnan(kept), 0.0, kept - mean)
    std = np.where(n >= 2, np.sqrt((dev ** 2).sum(axis=0) / np.maximum(n - 1, 1)), np.nan)
  return mean, std


def kept_counts(ratings, rejected=None, *, remove_outlier_ratings: bool = False) -> np.ndarray:
  """Int ``[I]``: how many ratings of each image :func:`mos` averages."""
  kept = _kept_ratings(_as_ratings(ratings), rejected, remove_outlier_ratings)
  return (~np.isnan(kept)).sum(axis=0)


def _kept_ratings(r: np.ndarray, rejected, remove_outlier_ratings: bool) -> np.ndarray:
  if rejected is None:
    rejected = np.zeros(r.shape[0], dtype=bool)
  rejected = np.asarray(rejected)
  if rejected.shape != (r.shape[0],) or rejected.dtype != bool:
    raise ValueError(
        f"rejected must be a bool mask [S] with S = {r.shape[0]} (one entry per row of ratings, "
        f"as returned by bt500_screen), got dtype {rejected.dtype} shape {rejected.shape}.")
  kept = np.where(rejected[:, None], np.nan, r)
  if remove_outlier_ratings:
    kept = np.where(outlier_ratings(kept), np.nan, kept)
  return kept

"""gMAD competition on a scored pool (method.md §6): pair selection, aggressiveness, resistance.

For a *defender* D and an *attacker* A, both on a common perceptual scale (higher = better), and
a quality level with centre ``c`` and bin width ``w``, the candidates are the images whose D score
lies in ``[c − w/2, c + w/2]`` (both ends included): D rates them all about equally. Among them
gMAD shows people the pairs ``(x, y)`` on which A disagrees most, ``max A(x) − A(y)`` (paper
Eq. 10), the top ``k`` per level under the diversity limits below; then the roles are swapped.

Pipeline, one section each below:

* common scale: :func:`fit_common_scale` / :func:`to_common_scale` (paper Eq. 13 fitted to the
  MOS of a reference set, method.md §6) and :func:`default_bin_width` (half the mean MOS std);
* solver: :func:`select_pairs` (one defender–attacker role) and :func:`run_competition` (all
  ordered model pairs, i.e. both roles), vectorised in JAX;
* outcome: :func:`oracle_preferences`, :func:`aggressiveness_resistance`, :func:`write_report`;
* :func:`image_sheet`, the selected pairs of one (defender, attacker, level) side by side;
* the CLI: ``python -m biqa_jax.gmad --scores POOL.npz --out DIR [--k 12 ...]`` on a
  :mod:`biqa_jax.data.pool` file.

Selection rule (what :func:`select_pairs` returns, exactly)
-----------------------------------------------------------
Attacker order: ``x ≻ y`` iff ``A(x) > A(y)``, or ``A(x) = A(y)`` and ``x < y`` (image index).
Candidate pairs of a level: every ``(x, y)`` of bin members with ``x ≻ y`` (so ``x`` is the image
A rates better), visited in the order

  ``A(x) − A(y)`` descending (float32 difference), then ``x`` earlier in attacker order, then
  ``y`` later in attacker order.

The **sequential greedy** accepts a visited pair iff it keeps every diversity limit given the
pairs accepted before it, and stops after ``k``. Limits, counted over the pairs accepted *for
this (defender, attacker, level)* (scope "per level", see below):

* ``max_per_content``: images of one content appear at most this often (a pair of two images of
  one content counts twice);
* ``max_per_type``: images of one distortion type appear at most this often (same counting);
* ``max_per_type_pair``: one unordered combination ``{type(x), type(y)}`` at most this often.

``select_pairs`` returns *exactly* the greedy's accepted list (tests compare with a NumPy brute
force over all pairs). Hence: the first pair is the maximiser of Eq. 10 unless that pair alone
breaks a limit; every later pair has the largest difference among the pairs admissible next to
the earlier ones; and every pair with a larger difference than a selected one is absent only
because, added to the pairs selected before it, it would break a limit. Not claimed: the list
maximises the *sum* of differences (a constrained matching problem the paper does not pose).

Why "per level": method.md leaves the scope open and calls "per model-vs-model comparison" the
literal reading. Counting per comparison (all 5 levels of one role) is infeasible with the
paper's numbers: 5 × 12 pairs = 120 images, but 25 distortion types × 3 = 75 image slots, so at
most 37 pairs could ever be shown per role, not the "up to 1,080 pairs/round" of §6. Per level,
12 pairs = 24 images ≤ 75 slots.

How it is vectorised (and why it is exact)
------------------------------------------
Per attacker, the pool is sorted once by (distortion type, attacker order). Per (defender,
level), a cumulative count of bin members in that order gives, by binary search, each type's
first ``T`` and last ``T`` bin members. With ``c = max_per_content``, ``g`` the largest number of
pool images sharing one (content, type) and ``s < k`` pairs accepted so far, an image ``x`` of
type ``t`` that the greedy accepts as the better image, with ``y``, has at most
``min(c − 1, k − 1) + g·(1 + ⌊2(k − 1)/c⌋)`` bin members of type ``t`` above it: each such
``u`` had its pair ``(u, y)`` visited first and lost it only by being already accepted with
``y`` (≤ c − 1 such pairs, as ``y``'s content still has room for ``(x, y)``; ≤ s), by sharing
``y``'s content (≤ g images) or by a content already used ``c`` times (≤ ⌊2s/c⌋ contents, ≤ g
images each); type limits treat ``u`` and ``x`` alike. So
``T = 1 + min(c − 1, k − 1) + g·(1 + ⌊2(k − 1)/c⌋)`` (26 for k = 12, c = 2, g = 2) never drops
an accepted pair, symmetrically for the worse image, and the greedy over these lists equals the
greedy over all pairs (dropping only pairs it rejects changes nothing). The greedy runs as
``k`` steps of ``lax.scan``; each step takes the first pair in visiting order after the last
accepted one that keeps every limit (pairs skipped earlier stay inadmissible: counts only
grow). By the same counting (an image above the best such pair's ``x`` in its list, itself
admissible, loses its pair with the same ``y`` only by sharing ``y``'s content or by being
accepted with ``y`` already) that pair uses one of the first ``R = 1 + g + min(c − 1, k − 1)``
individually admissible images of each type's list (4 for the paper's limits), so a step scores
``(types·R)²`` pairs.
Shapes are static; ``jit`` compiles once per (N, M, k, number of types, levels, limits, g).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import math
import os
import sys
import warnings
from typing import NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from biqa_jax import losses, metrics

DEFAULT_CENTERS = (10.0, 30.0, 50.0, 70.0, 90.0)  # bad, poor, fair, good, excellent on [0, 100]
DEFAULT_K = 12
DEFAULT_LIMITS = {"max_per_content": 2, "max_per_type": 3, "max_per_type_pair": 1}

# =============================================================================================
# Common scale


def fit_common_scale(ref_scores, ref_mos, directions) -> np.ndarray:
  """Per model, the paper's Eq. 13 logistic fitted from ``direction · score`` to reference MOS.

  Args:
    ref_scores: ``[R, M]`` raw scores of the reference images (NaN = missing, left out of that
      model's fit).
    ref_mos: ``[R]`` MOS, higher = better (images with NaN MOS are left out).
    directions: ``[M]`` +1 (higher score = better) or −1 (lower = better).

  Returns:
    ``[M, 4]`` float64 ``(η1, η2, η3, η4)`` per model for :func:`to_common_scale`.

  Warns:
    RuntimeWarning: a fitted curve decreases (η1 < η2): the model's direction is probably wrong.
  """
  ref_scores = np.asarray(ref_scores, np.float64)
  ref_mos = np.asarray(ref_mos, np.float64).reshape(-1)
  directions = np.asarray(directions).reshape(-1)
  if ref_scores.ndim != 2 or ref_scores.shape[0] != ref_mos.size:
    raise ValueError(f"reference scores must be [R, M] with R = len(mos) = {ref_mos.size}, got "
                     f"shape {ref_scores.shape}.")
  if directions.size != ref_scores.shape[1] or not np.all(np.isin(directions, (-1, 1))):
    raise ValueError(f"directions must hold +1 or -1 for each of the {ref_scores.shape[1]} "
                     f"models, got {directions.tolist()}.")
  params = []
  for j in range(ref_scores.shape[1]):
    keep = np.isfinite(ref_scores[:, j]) & np.isfinite(ref_mos)
    if keep.sum() < metrics.MIN_ITEMS:
      raise ValueError(f"model {j}: only {int(keep.sum())} reference images have both a finite "
                       f"score and a MOS; the common-scale fit needs at least {metrics.MIN_ITEMS}.")
    eta = metrics.fit_logistic(directions[j] * ref_scores[keep, j], ref_mos[keep])
    if eta[0] < eta[1]:
      warnings.warn(f"model {j}: its common-scale mapping decreases (eta1 {eta[0]:.3g} < eta2 "
                    f"{eta[1]:.3g}), i.e. direction {directions[j]:+d} makes it anti-correlated "
                    "with MOS; check the model's direction.", RuntimeWarning, stacklevel=2)
    params.append(eta)
  return np.stack(params)


def to_common_scale(scores, params, directions) -> np.ndarray:
  """``[N, M]`` float32 ``logistic_4(direction_m · scores[:, m], *params[m])``; NaN stays NaN."""
  scores = np.asarray(scores, np.float64)
  directions = np.asarray(directions).reshape(-1)
  mapped = [metrics.logistic_4(directions[j] * scores[:, j], *params[j])
            for j in range(scores.shape[1])]
  return np.stack(mapped, axis=1).astype(np.float32)


def default_bin_width(ref_mos_std) -> float:
  """Half the mean standard deviation of the reference MOS (method.md §6)."""
  std = np.asarray(ref_mos_std, np.float64)
  std = std[np.isfinite(std)]
  if not std.size:
    raise ValueError("the reference set has no finite MOS std, so the default bin width (half "
                     "its mean) is undefined; pass bin_width (--bin-width) explicitly.")
  return 0.5 * float(np.mean(std))


# =============================================================================================
# Solver


class _Problem(NamedTuple):
  """Host-side validated inputs of the jitted solver (arrays) and its static sizes."""
  scores_t: np.ndarray         # [M, N] float32
  type_ids: np.ndarray         # [N] int32, dense 0..types−1
  content_ids: np.ndarray      # [N] int32, dense
  seg_start: np.ndarray        # [types] start of each type's block in (type, attacker) order
  seg_end: np.ndarray          # [types]
  lower: np.ndarray            # [L] float32 bin edges, centre − w/2
  upper: np.ndarray            # [L] float32, centre + w/2
  static: dict                 # k, list_len, top_r, max_per_content, max_per_type, ...


def _limit(value, name: str, unlimited: int) -> int:
  if value is None:
    return unlimited
  if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
    raise ValueError(f"{name} must be a positive int (or None for no limit), got {value!r}.")
  return min(int(value), unlimited)


_MAX_RANK_SPAN = 46_340  # tie-break keys rank·span + rank must stay below 2**31 (see _greedy)


def _list_lengths(k: int, c: int, g: int, largest_type: int) -> tuple[int, int]:
  """``(T, R)`` of the module docstring's argument, ``T`` capped by the largest type block.

  ``g`` and the cap are rounded up to powers of two first (still upper bounds), so pools that
  differ only a little reuse one compiled solver.
  """
  g, largest_type = (1 << (int(v) - 1).bit_length() for v in (g, largest_type))
  list_len = min(1 + min(c - 1, k - 1) + g * (1 + 2 * (k - 1) // c), largest_type)
  return list_len, min(1 + g + min(c - 1, k - 1), list_len)


def _prepare(scores, content_id, distortion_type, centers, bin_width, k, max_per_content,
             max_per_type, max_per_type_pair) -> _Problem:
  scores = np.asarray(scores, np.float32)
  if scores.ndim != 2:
    raise ValueError(f"scores must be [N images, M models], got shape {scores.shape}.")
  n, m = scores.shape
  if m < 2:
    raise ValueError(f"gMAD needs at least 2 models (a defender and an attacker); scores has "
                     f"{m} column(s).")
  meta = {}
  for name, values in (("content_id", content_id), ("distortion_type", distortion_type)):
    values = np.asarray(values)
    if values.shape != (n,):
      raise ValueError(f"{name} has shape {values.shape} but scores has {n} rows; give one "
                       f"{name} per image, in the order of the scores.")
    if values.dtype.kind not in "iu":
      raise ValueError(f"{name} must be integers (ids), got dtype {values.dtype}.")
    meta[name] = values.astype(np.int64)
  if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
    raise ValueError(f"k (pairs per level) must be a positive int, got {k!r}.")
  k = int(k)
  centers = np.asarray(centers, np.float32).reshape(-1)
  if not centers.size or not np.all(np.isfinite(centers)):
    raise ValueError(f"centers must be one or more finite quality-level centres, got {centers}.")
  if not np.isfinite(bin_width) or bin_width <= 0:
    raise ValueError(f"bin_width must be a positive number on the common scale, got {bin_width!r}.")
  c = _limit(max_per_content, "max_per_content", 2 * k)
  mt = _limit(max_per_type, "max_per_type", 2 * k)
  mp = _limit(max_per_type_pair, "max_per_type_pair", k)

  type_values, type_ids = np.unique(meta["distortion_type"], return_inverse=True)
  content_values, content_ids = np.unique(meta["content_id"], return_inverse=True)
  n_types, n_contents = type_values.size, content_values.size
  combos = n_types * (n_types - 1) // 2 + (n_types if mt >= 2 else 0)
  possible = min(n * (n - 1) // 2, c * n_contents // 2, mt * n_types // 2, mp * combos)
  if k > possible:
    raise ValueError(
        f"k = {k} pairs per level is more than possible: {n} images of {n_contents} contents and "
        f"{n_types} distortion types allow at most {possible} pairs under max_per_content={c}, "
        f"max_per_type={mt}, max_per_type_pair={mp}. Lower k or relax the limits.")
  group = np.unique(content_ids.astype(np.int64) * n_types + type_ids, return_counts=True)[1]
  g = int(group.max())
  type_count = np.bincount(type_ids, minlength=n_types)
  list_len, top_r = _list_lengths(k, c, g, int(type_count.max()))
  if 2 * n_types * list_len > _MAX_RANK_SPAN:
    raise ValueError(
        f"{n_types} distinct distortion types are more than the solver handles here (it scores "
        f"(types x {top_r})^2 candidate pairs per step and packs ranks into int32); "
        f"distortion_type should hold the distortion *type* (25 in KADID), not a per-image id.")
  half = np.float32(bin_width) / np.float32(2)
  return _Problem(
      scores_t=np.ascontiguousarray(scores.T), type_ids=type_ids.astype(np.int32),
      content_ids=content_ids.astype(np.int32),
      seg_start=(np.cumsum(type_count) - type_count).astype(np.int32),
      seg_end=np.cumsum(type_count).astype(np.int32),
      lower=centers - half, upper=centers + half,
      static=dict(k=k, list_len=list_len, top_r=top_r, max_per_content=c, max_per_type=mt,
                  max_per_type_pair=mp))


class _Lists(NamedTuple):
  """Per type, a bin's first (or last) ``T`` members in attacker order; all ``[types, T]``."""
  image: jax.Array
  score: jax.Array
  content: jax.Array
  valid: jax.Array


def _attacker_ranks(hi: _Lists, lo: _Lists) -> tuple[jax.Array, jax.Array]:
  """``[types, T]`` int32 ranks of the entries of both lists in attacker order ≻ (joint).

  An image in both lists gets the same rank; invalid entries rank after all valid ones.
  """
  key = jnp.concatenate([jnp.where(l.valid, -l.score, jnp.inf).reshape(-1) for l in (hi, lo)])
  image = jnp.concatenate([hi.image.reshape(-1), lo.image.reshape(-1)])
  position = jnp.arange(key.size, dtype=jnp.int32)
  key_s, image_s, perm = lax.sort((key, image, position), num_keys=2)
  new = jnp.concatenate([jnp.ones(1, bool),
                         (key_s[1:] != key_s[:-1]) | (image_s[1:] != image_s[:-1])])
  rank = jnp.zeros_like(position).at[perm].set(jnp.cumsum(new.astype(jnp.int32)) - 1)
  return rank[:hi.image.size].reshape(hi.image.shape), rank[hi.image.size:].reshape(lo.image.shape)


def _top_admissible(lists: _Lists, rank, uses, type_count, *, top_r, max_per_content,
                    max_per_type):
  """The first ``top_r`` individually admissible entries of each type's list: ``[types, R]``.

  ``uses``: ``[types, T]`` how often each entry's content is used by the accepted pairs.
  """
  ok = lists.valid & (uses + 1 <= max_per_content) & (type_count[:, None] + 1 <= max_per_type)
  order = jnp.cumsum(ok.astype(jnp.int32), axis=1) - 1
  pick = ok[:, None, :] & (order[:, None, :] == jnp.arange(top_r)[None, :, None])
  slot = jnp.argmax(pick, axis=-1)
  take = lambda x: jnp.take_along_axis(x, slot, axis=1)
  return (take(lists.image), take(lists.score), take(lists.content), take(uses), take(rank),
          jnp.any(pick, axis=-1))


def _greedy(hi: _Lists, lo: _Lists, *, k, top_r, max_per_content, max_per_type,
            max_per_type_pair, **_):
  """The sequential greedy of the module docstring on one level's lists: ``[k, 2]`` int32.

  Candidate pairs are held as ``[types, R, types·R]`` (better image's type and slot, worse
  image's type-major slot; the long axis last, where XLA vectorises), so type conditions are
  ``[types, types]`` blocks. Ties after the difference are broken by one int32 key
  ``rank(x)·S + (S − 1 − rank(y))`` (smaller = first).
  """
  n_types = hi.image.shape[0]
  pick = functools.partial(_top_admissible, top_r=top_r, max_per_content=max_per_content,
                           max_per_type=max_per_type)
  hi_rank, lo_rank = _attacker_ranks(hi, lo)
  span = 2 * hi.image.size  # ranks are < span, span ≤ _MAX_RANK_SPAN (checked in _prepare)
  same_type = jnp.eye(n_types, dtype=bool)
  hx = lambda v: v[:, :, None]                  # better image: [types, R, 1]
  lx = lambda v: v.reshape(1, 1, -1)            # worse image: [1, 1, types·R]

  def step(carry, _):
    hi_uses, lo_uses, type_count, type_pair, last = carry
    h_img, h_s, h_c, h_use, h_rank, h_ok = pick(hi, hi_rank, hi_uses, type_count)
    l_img, l_s, l_c, _, l_rank, l_ok = pick(lo, lo_rank, lo_uses, type_count)
    classes = (type_pair + 1 <= max_per_type_pair) & (
        ~same_type | (type_count + 2 <= max_per_type)[:, None])
    diff = hx(jnp.where(h_ok, h_s, -jnp.inf)) - lx(jnp.where(l_ok, l_s, jnp.inf))
    key = hx(h_rank * span) + lx(span - 1 - l_rank)
    ok = jnp.repeat(classes, top_r, axis=1)[:, None, :] & (hx(h_rank) < lx(l_rank))  # x ≻ y
    ok &= diff > -jnp.inf                       # both images individually admissible
    ok &= (hx(h_c) != lx(l_c)) | hx(h_use + 2 <= max_per_content)
    # Strictly after the last accepted pair in visiting order (see the module docstring).
    d0, key0 = last
    ok &= (diff < d0) | ((diff == d0) & (key > key0))
    # First in visiting order: max difference, then the smallest key.
    best = ok & (diff == jnp.max(jnp.where(ok, diff, -jnp.inf)))
    best &= key == jnp.min(jnp.where(best, key, jnp.iinfo(jnp.int32).max))
    found = jnp.any(best)
    th, rh, j = jnp.unravel_index(jnp.argmax(best.reshape(-1)), best.shape)
    tl, rl = j // top_r, j % top_r
    add = found.astype(jnp.int32)
    count = lambda c: ((c == h_c[th, rh]).astype(jnp.int32) + (c == l_c[tl, rl])) * add
    hi_uses, lo_uses = hi_uses + count(hi.content), lo_uses + count(lo.content)
    type_count = type_count.at[th].add(add).at[tl].add(add)
    type_pair = type_pair.at[th, tl].add(add).at[tl, th].add(add * (th != tl))
    new_last = (diff[th, rh, j], key[th, rh, j])
    last = tuple(jnp.where(found, new, old) for new, old in zip(new_last, last))
    out = jnp.where(found, jnp.stack([h_img[th, rh], l_img[tl, rl]]), -1)
    return (hi_uses, lo_uses, type_count, type_pair, last), out

  init = (jnp.zeros(hi.image.shape, jnp.int32), jnp.zeros(lo.image.shape, jnp.int32),
          jnp.zeros((n_types,), jnp.int32), jnp.zeros((n_types, n_types), jnp.int32),
          (jnp.float32(jnp.inf), jnp.int32(-1)))
  return lax.scan(step, init, None, length=k)[1]


@functools.partial(jax.jit, static_argnames=("k", "list_len", "top_r", "max_per_content",
                                             "max_per_type", "max_per_type_pair"))
def _solve(scores_t, type_ids, content_ids, seg_start, seg_end, lower, upper, attackers,
           defenders, **static):
  """The greedy for attacker ``attackers[p]`` vs defender ``defenders[p, q]``.

  Returns ``([P, Q, L, k, 2]`` pairs, ``[P, Q, L]`` bin members with both scores finite).
  """
  n = scores_t.shape[1]
  index = jnp.arange(n, dtype=jnp.int32)
  list_len = static["list_len"]
  j = jnp.arange(list_len, dtype=jnp.int32)

  def per_attacker(args):
    a, ds = args
    att = scores_t[a]
    finite = jnp.isfinite(att)
    # One sort per attacker: type blocks (same positions for every attacker), attacker order inside.
    _, _, order = lax.sort((type_ids, jnp.where(finite, -att, jnp.inf), index), num_keys=2,
                           is_stable=True)
    att_s, finite_s, content_s = att[order], finite[order], content_ids[order]

    def per_defender(d):
      dfd = scores_t[d][order]
      member = (finite_s & jnp.isfinite(dfd))[None] & (dfd[None] >= lower[:, None]) & (
          dfd[None] <= upper[:, None])                          # [L, N]
      count = lax.associative_scan(jnp.add, member.astype(jnp.int32), axis=1)
      before = jnp.pad(count, ((0, 0), (1, 0)))                 # members before each position
      base, total = before[:, seg_start], before[:, seg_end] - before[:, seg_start]  # [L, types]
      valid = j < total[..., None]                              # [L, types, T]
      find = jax.vmap(lambda c, q: jnp.searchsorted(c, q, side="left"))
      hi_pos = find(count, base[..., None] + j + 1)             # the (j+1)-th member of the block
      lo_pos = find(count, base[..., None] + total[..., None] - j)  # the (j+1)-th from its end

      def lists(pos):
        pos = jnp.minimum(pos, n - 1)
        return _Lists(order[pos], att_s[pos], content_s[pos], valid)
      return lists(hi_pos), lists(lo_pos), jnp.sum(total, axis=1)

    return lax.map(per_defender, ds)

  hi, lo, members = lax.map(per_attacker, (attackers, defenders))  # [P, Q, L, types, T] lists
  flat = lambda t: jax.tree.map(lambda x: x.reshape((-1,) + x.shape[3:]), t)
  # One greedy for all roles and levels at once: k sequential steps in total.
  pairs = jax.vmap(functools.partial(_greedy, **static))(flat(hi), flat(lo))
  return pairs.reshape(members.shape + pairs.shape[1:]), members


def _run(problem: _Problem, attackers, defenders) -> tuple[np.ndarray, np.ndarray]:
  pairs, members = _solve(problem.scores_t, problem.type_ids, problem.content_ids,
                          problem.seg_start, problem.seg_end, problem.lower, problem.upper,
                          np.asarray(attackers, np.int32), np.asarray(defenders, np.int32),
                          **problem.static)
  return np.asarray(pairs), np.asarray(members)


def _check_model(index, m: int, name: str) -> int:
  if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or not 0 <= index < m:
    raise ValueError(f"{name} must be a model (column) index in 0..{m - 1}, got {index!r}.")
  return int(index)


def select_pairs(scores, content_id, distortion_type, *, defender, attacker,
                 centers=DEFAULT_CENTERS, bin_width, k=DEFAULT_K,
                 max_per_content=DEFAULT_LIMITS["max_per_content"],
                 max_per_type=DEFAULT_LIMITS["max_per_type"],
                 max_per_type_pair=DEFAULT_LIMITS["max_per_type_pair"]) -> np.ndarray:
  """The gMAD pairs of one role: ``defender`` holds quality fixed, ``attacker`` splits it.

  Args:
    scores: ``[N, M]`` float32 on the common scale, higher = better (:func:`to_common_scale`).
      NaN/inf entries exclude that image from every comparison involving that model (counted in
      a warning, never picked).
    content_id, distortion_type: ``[N]`` integer ids (any values).
    defender, attacker: distinct column indices of ``scores``.
    centers: ``[L]`` quality-level centres on the common scale.
    bin_width: ``w``; level ``l``'s bin is ``[centers[l] − w/2, centers[l] + w/2]`` in float32,
      both ends included.
    k: pairs per level.
    max_per_content, max_per_type, max_per_type_pair: the diversity limits (positive ints, or
      None for none), counted per level; see the module docstring.

  Returns:
    ``[L, k, 2]`` int32 image indices, ``[l, r] = (x, y)`` with ``x`` the image the attacker
    rates better, in visiting order; ``−1`` rows where fewer than ``k`` pairs are admissible.
    Exactly the sequential greedy of the module docstring.

  Raises:
    ValueError: M < 2, metadata lengths that differ from N, equal or out-of-range model indices,
      a non-positive ``k``/``bin_width``/limit, or ``k`` above what the limits allow for this
      pool's contents and types.

  Warns:
    RuntimeWarning: NaN/inf scores (with their count) and levels with fewer than 2 candidates.
  """
  problem = _prepare(scores, content_id, distortion_type, centers, bin_width, k, max_per_content,
                     max_per_type, max_per_type_pair)
  m = problem.scores_t.shape[0]
  defender, attacker = _check_model(defender, m, "defender"), _check_model(attacker, m, "attacker")
  if defender == attacker:
    raise ValueError(f"defender and attacker are both model {defender}; gMAD compares two "
                     "different models.")
  for name, col in (("defender", defender), ("attacker", attacker)):
    bad = int(np.sum(~np.isfinite(problem.scores_t[col])))
    if bad:
      warnings.warn(f"{bad} NaN/inf score(s) of the {name} (model {col}) excluded from the "
                    "competition.", RuntimeWarning, stacklevel=2)
  pairs, members = _run(problem, [attacker], [[defender]])
  if np.any(members[0, 0] < 2):
    warnings.warn(_few_candidates_note(problem, members[0, 0], f"defender {defender}"),
                  RuntimeWarning, stacklevel=2)
  return pairs[0, 0]


def _few_candidates_note(problem: _Problem, counts, who: str) -> str:
  levels = [f"{(lo + hi) / 2:g} ({int(c)} image{'' if c == 1 else 's'})"
            for lo, hi, c in zip(problem.lower, problem.upper, counts) if c < 2]
  return (f"{who}: level(s) {', '.join(levels)} have fewer than 2 candidates in their bin, so "
          "no pair there; widen bin_width or move the centres.")


@dataclasses.dataclass(frozen=True)
class Competition:
  """Every role of a gMAD round.

  pairs:       [M, M, L, k, 2] int32, ``pairs[d, a]`` = :func:`select_pairs` with defender d,
               attacker a (the diagonal is all −1)
  candidates:  [M, M, L] int, bin members with finite scores of both models
  nonfinite:   [M] int, NaN/inf scores per model (excluded)
  centers:     [L] level centres; ``bin_width``, ``k``, ``limits`` as used
  notes:       human-readable reports (empty levels, excluded scores)
  """

  pairs: np.ndarray
  candidates: np.ndarray
  nonfinite: np.ndarray
  model_names: tuple[str, ...]
  centers: np.ndarray
  bin_width: float
  k: int
  limits: dict
  notes: tuple[str, ...]


def run_competition(scores, content_id, distortion_type, *, centers=DEFAULT_CENTERS, bin_width,
                    k=DEFAULT_K, max_per_content=DEFAULT_LIMITS["max_per_content"],
                    max_per_type=DEFAULT_LIMITS["max_per_type"],
                    max_per_type_pair=DEFAULT_LIMITS["max_per_type_pair"],
                    model_names: Sequence[str] | None = None) -> Competition:
  """:func:`select_pairs` for every ordered (defender, attacker) pair of models, i.e. both roles.

  One jitted call: the pool is sorted once per attacker and reused for all its defenders.
  Arguments as :func:`select_pairs`; levels with fewer than 2 candidates and NaN/inf scores are
  reported in ``notes`` (no warning, no error).
  """
  problem = _prepare(scores, content_id, distortion_type, centers, bin_width, k, max_per_content,
                     max_per_type, max_per_type_pair)
  m = problem.scores_t.shape[0]
  names = tuple(model_names) if model_names is not None else tuple(f"model{j}" for j in range(m))
  if len(names) != m:
    raise ValueError(f"{len(names)} model names for {m} score columns.")
  attackers = np.arange(m)
  defenders = np.array([[d for d in range(m) if d != a] for a in range(m)])
  found, members = _run(problem, attackers, defenders)          # [a, d', L, k, 2], [a, d', L]
  pairs = np.full((m, m) + found.shape[2:], -1, np.int32)
  candidates = np.zeros((m, m, problem.lower.size), np.int64)
  notes = []
  nonfinite = np.sum(~np.isfinite(problem.scores_t), axis=1)
  for j in np.flatnonzero(nonfinite):
    notes.append(f"{names[j]}: {nonfinite[j]} NaN/inf score(s) excluded.")
  for a in range(m):
    for q, d in enumerate(defenders[a]):
      pairs[d, a] = found[a, q]
      candidates[d, a] = members[a, q]
      if np.any(candidates[d, a] < 2):
        notes.append(_few_candidates_note(problem, candidates[d, a],
                                          f"defender {names[d]} vs attacker {names[a]}"))
  return Competition(pairs=pairs, candidates=candidates, nonfinite=nonfinite, model_names=names,
                     centers=(problem.lower + problem.upper) / 2, bin_width=float(bin_width),
                     k=problem.static["k"],
                     limits={key: problem.static[key] for key in DEFAULT_LIMITS},
                     notes=tuple(notes))


# =============================================================================================
# Outcome: aggressiveness and resistance


def oracle_preferences(pairs, mos, mos_std) -> np.ndarray:
  """``[...]`` probability that the first image of each pair is better (paper Eq. 7 on MOS).

  ``p = Φ((μx − μy) / sqrt(σx² + σy²))`` (:func:`biqa_jax.losses.label_prob`) for ``pairs
  [..., 2]``; NaN where the pair is padding (−1) or a MOS is unknown.
  """
  pairs = np.asarray(pairs)
  mos, std = np.asarray(mos, np.float64), np.asarray(mos_std, np.float64)
  x, y = np.maximum(pairs[..., 0], 0), np.maximum(pairs[..., 1], 0)
  p = np.asarray(losses.label_prob(mos[x], mos[y], np.nan_to_num(std[x]), np.nan_to_num(std[y])),
                 np.float64)
  unknown = (pairs[..., 0] < 0) | ~np.isfinite(mos[x]) | ~np.isfinite(mos[y])
  return np.where(unknown, np.nan, p)


def _mean_se(values: np.ndarray) -> tuple[float, float | None, int]:
  values = values[np.isfinite(values)]
  if not values.size:
    return math.nan, None, 0
  se = float(np.std(values, ddof=1) / math.sqrt(values.size)) if values.size > 1 else None
  return float(np.mean(values)), se, int(values.size)


def aggressiveness_resistance(pairs, preferences, model_names: Sequence[str]) -> list[dict]:
  """Mean fidelity loss of each model as attacker and as defender, ± standard error.

  With ``p`` the human (or oracle) probability that the first image of a selected pair (the one
  the attacker rates better) is better, and Eq. 8 without ε, ``ℓ(q, p) = 1 − sqrt(q·p) −
  sqrt((1 − q)(1 − p))``:

  * aggressiveness of model j: mean of ``ℓ(1, p) = 1 − sqrt(p)`` over every pair j selected as
    attacker (all defenders, all levels): j claims ``x`` is better;
  * resistance of model j: mean of ``ℓ(1/2, p)`` over every pair selected against j as defender:
    j claims the two are equal.

  Lower = stronger for both (0: people agree with the model on every pair). The standard error
  is ``std(ddof=1) / sqrt(n)`` over pairs (None for n < 2).

  Args:
    pairs: ``[M, M, L, k, 2]`` from :class:`Competition` (−1 = no pair).
    preferences: ``[M, M, L, k]`` probabilities; NaN where there is no pair or no judgement.
    model_names: ``M`` names.

  Returns:
    One dict per model: ``model``, ``aggressiveness``, ``aggressiveness_se``, ``n_attacking``,
    ``resistance``, ``resistance_se``, ``n_defending``.
  """
  pairs = np.asarray(pairs)
  p = np.asarray(preferences, np.float64)
  if p.shape != pairs.shape[:-1]:
    raise ValueError(f"preferences must be [M, M, L, k] = {pairs.shape[:-1]} like the pairs, "
                     f"got {p.shape}.")
  p = np.where(pairs[..., 0] >= 0, p, np.nan)
  attack = np.asarray(losses.fidelity_loss(1.0, np.nan_to_num(p), eps=0.0), np.float64)
  defend = np.asarray(losses.fidelity_loss(0.5, np.nan_to_num(p), eps=0.0), np.float64)
  attack, defend = np.where(np.isnan(p), np.nan, attack), np.where(np.isnan(p), np.nan, defend)
  rows = []
  for j, name in enumerate(model_names):
    agg = _mean_se(attack[:, j].reshape(-1))
    res = _mean_se(defend[j, :].reshape(-1))
    rows.append({"model": name, "aggressiveness": agg[0], "aggressiveness_se": agg[1],
                 "n_attacking": agg[2], "resistance": res[0], "resistance_se": res[1],
                 "n_defending": res[2]})
  return rows


def _fmt(mean, se) -> str:
  if not np.isfinite(mean):
    return "—"
  return f"{mean:.4f} ± {se:.4f}" if se is not None else f"{mean:.4f}"


def write_report(rows: list[dict], out_dir: str) -> list[str]:
  """Writes ``aggressiveness_resistance.{json,md,png}`` into ``out_dir``; returns the paths."""
  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt

  os.makedirs(out_dir, exist_ok=True)
  base = os.path.join(out_dir, "aggressiveness_resistance")
  clean = [{k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in r.items()}
           for r in rows]
  with open(base + ".json", "w") as f:
    json.dump(clean, f, indent=2)
  lines = ["| model | aggressiveness (attacking) | n | resistance (defending) | n |",
           "|---|---|---|---|---|"]
  for r in rows:
    lines.append(f"| {r['model']} | {_fmt(r['aggressiveness'], r['aggressiveness_se'])} | "
                 f"{r['n_attacking']} | {_fmt(r['resistance'], r['resistance_se'])} | "
                 f"{r['n_defending']} |")
  lines.append("\nMean fidelity loss ± standard error over the selected pairs; lower = stronger.")
  with open(base + ".md", "w") as f:
    f.write("\n".join(lines) + "\n")
  fig, axes = plt.subplots(1, 2, figsize=(2 + 1.2 * len(rows), 3.5), sharey=True)
  for ax, key, title in ((axes[0], "aggressiveness", "as attacker"),
                         (axes[1], "resistance", "as defender")):
    ax.bar(range(len(rows)), [r[key] for r in rows],
           yerr=[r[key + "_se"] or 0.0 for r in rows], capsize=4, color="tab:blue")
    ax.set_xticks(range(len(rows)), [r["model"] for r in rows], rotation=30, ha="right")
    ax.set_title(f"{key} ({title})")
  axes[0].set_ylabel("mean fidelity loss (lower = stronger)")
  fig.tight_layout()
  fig.savefig(base + ".png", dpi=100)
  plt.close(fig)
  return [base + ext for ext in (".json", ".md", ".png")]


# =============================================================================================
# Image sheet


def image_sheet(out_path: str, level_pairs, *, image_paths, image_ids, scores, defender: int,
                attacker: int, model_names: Sequence[str], center: float, bin_width: float,
                mos=None) -> str:
  """The selected pairs of one (defender, attacker, level) side by side, with both models' scores.

  Args:
    out_path: PNG to write.
    level_pairs: ``[k, 2]`` image indices from :func:`select_pairs` (−1 rows are skipped).
    image_paths, image_ids: ``[N]`` image files and names.
    scores: ``[N, M]`` common-scale scores (the ones the pairs were selected on).
    defender, attacker: model indices; ``center``, ``bin_width``: the level's bin.
    mos: optional ``[N]`` (stand-in) MOS, shown when finite.
  """
  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt

  from biqa_jax.data import images as image_io

  rows = [(int(x), int(y)) for x, y in np.asarray(level_pairs) if x >= 0]
  d_name, a_name = model_names[defender], model_names[attacker]
  title = (f"defender {d_name} (level {center:g} ± {bin_width / 2:.2f}) vs attacker {a_name}: "
           f"left = better by {a_name}")
  fig, axes = plt.subplots(max(len(rows), 1), 2, figsize=(7, 3.1 * max(len(rows), 1)),
                           squeeze=False)
  if not rows:
    axes[0, 0].text(0.5, 0.5, "no admissible pair at this level", ha="center", va="center")
  for r, pair in enumerate(rows):
    for col, i in enumerate(pair):
      ax = axes[r, col]
      try:
        ax.imshow(image_io.load_image(image_paths[i]))
      except (image_io.ImageError, OSError):
        ax.text(0.5, 0.5, f"image missing:\n{image_paths[i] or '(no path)'}", ha="center",
                va="center", fontsize=7)
      caption = (f"#{r + 1} {image_ids[i]}\n{a_name} {scores[i, attacker]:.1f} | "
                 f"{d_name} {scores[i, defender]:.1f}")
      if mos is not None and np.isfinite(mos[i]):
        caption += f" | MOS {mos[i]:.1f}"
      ax.set_title(caption, fontsize=8)
  for ax in axes.reshape(-1):
    ax.set_xticks([]), ax.set_yticks([])
  height = 3.1 * max(len(rows), 1)
  fig.suptitle(title, fontsize=9)
  fig.tight_layout(rect=(0, 0, 1, 1 - 0.45 / height))  # keep the title clear of the first row
  os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
  fig.savefig(out_path, dpi=80)
  plt.close(fig)
  return out_path


# =============================================================================================
# CLI


def _limit_arg(text: str):
  if text.lower() == "none":
    return None
  try:
    value = int(text)
  except ValueError:
    value = 0
  if value < 1:
    raise argparse.ArgumentTypeError(f"{text!r}: a limit is a positive integer or 'none'.")
  return value


def _parser() -> argparse.ArgumentParser:
  parser = argparse.ArgumentParser(prog="python -m biqa_jax.gmad",
                                   description="gMAD competition on a scored pool (method.md §6).")
  parser.add_argument("--scores", required=True, help="pool .npz (biqa_jax.data.pool.save_pool)")
  parser.add_argument("--out", required=True, help="output folder")
  parser.add_argument("--reference", help="pool .npz with MOS (and MOS std) to fit the common "
                      "scale on; default: the MOS stored in --scores")
  parser.add_argument("--k", type=int, default=DEFAULT_K, help="pairs per level")
  parser.add_argument("--centers", type=float, nargs="+", default=list(DEFAULT_CENTERS))
  parser.add_argument("--bin-width", type=float,
                      help="default: half the mean MOS std of the reference set")
  for name, value in DEFAULT_LIMITS.items():
    parser.add_argument("--" + name.replace("_", "-"), type=_limit_arg, default=value,
                        help=f"diversity limit per level (default {value}; 'none' = no limit)")
  parser.add_argument("--no-sheets", action="store_true", help="skip the image sheets")
  return parser


def _pair_records(comp: Competition, pool, common, prefs) -> list[dict]:
  records = []
  m = len(comp.model_names)
  for d in range(m):
    for a in range(m):
      if d == a:
        continue
      for li, center in enumerate(comp.centers):
        for r, (x, y) in enumerate(comp.pairs[d, a, li]):
          if x < 0:
            continue
          records.append({
              "defender": comp.model_names[d], "attacker": comp.model_names[a],
              "level": float(center), "rank": r + 1, "x": pool.image_id[x], "y": pool.image_id[y],
              "attacker_x": float(common[x, a]), "attacker_y": float(common[y, a]),
              "defender_x": float(common[x, d]), "defender_y": float(common[y, d]),
              "p_x_better": None if prefs is None or not np.isfinite(prefs[d, a, li, r])
              else float(prefs[d, a, li, r])})
  return records


def main(argv: list[str] | None = None) -> int:
  from biqa_jax.data import pool as pool_lib

  args = _parser().parse_args(argv)
  try:
    pool = pool_lib.load_pool(args.scores)
    ref = pool_lib.load_pool(args.reference) if args.reference else pool
    missing = [n for n in pool.model_names if n not in ref.model_names]
    if missing:
      raise ValueError(f"reference pool '{args.reference}' lacks model(s) {missing}.")
    cols = [ref.model_names.index(n) for n in pool.model_names]
    params = fit_common_scale(ref.scores[:, cols], ref.mos, pool.directions)
    common = to_common_scale(pool.scores, params, pool.directions)
    bin_width = args.bin_width if args.bin_width is not None else default_bin_width(ref.mos_std)
    comp = run_competition(common, pool.content_id, pool.distortion_type, centers=args.centers,
                           bin_width=bin_width, k=args.k, max_per_content=args.max_per_content,
                           max_per_type=args.max_per_type,
                           max_per_type_pair=args.max_per_type_pair, model_names=pool.model_names)
  except ValueError as err:
    print(f"error: {err}", file=sys.stderr)
    return 2
  os.makedirs(args.out, exist_ok=True)
  prefs = None
  if np.any(np.isfinite(pool.mos)):
    prefs = oracle_preferences(comp.pairs, pool.mos, pool.mos_std)
    for path in write_report(aggressiveness_resistance(comp.pairs, prefs, comp.model_names),
                             args.out):
      print(f"wrote {path}")
  else:
    print("no MOS in the pool: aggressiveness/resistance need human preferences on the pairs "
          "(aggressiveness_resistance(pairs, preferences, names)).")
  np.savez(os.path.join(args.out, "pairs.npz"), pairs=comp.pairs, candidates=comp.candidates,
           common_scores=common, centers=comp.centers, logistic_params=params)
  summary = {"pool": os.path.abspath(args.scores), "models": list(comp.model_names),
             "centers": comp.centers.tolist(), "bin_width": comp.bin_width, "k": comp.k,
             "limits": comp.limits, "limit_scope": "per (defender, attacker, level)",
             "nonfinite": comp.nonfinite.tolist(), "notes": list(comp.notes),
             "pairs": _pair_records(comp, pool, common, prefs)}
  with open(os.path.join(args.out, "competition.json"), "w") as f:
    json.dump(summary, f, indent=2)
  if not args.no_sheets:
    m = len(comp.model_names)
    for d in range(m):
      for a in range(m):
        for li, center in enumerate(comp.centers):
          if d != a:
            image_sheet(os.path.join(args.out, "sheets", f"{comp.model_names[d]}_defends_vs_"
                                     f"{comp.model_names[a]}_level{center:g}.png"),
                        comp.pairs[d, a, li], image_paths=pool.path, image_ids=pool.image_id,
                        scores=common, defender=d, attacker=a, model_names=comp.model_names,
                        center=float(center), bin_width=comp.bin_width, mos=pool.mos)
    print(f"wrote {m * (m - 1) * len(comp.centers)} sheets to {os.path.join(args.out, 'sheets')}")
  for note in comp.notes:
    print(f"note: {note}")
  found = int(np.sum(comp.pairs[..., 0] >= 0))
  print(f"{found} pairs over {len(comp.model_names) * (len(comp.model_names) - 1)} roles x "
        f"{len(comp.centers)} levels (bin width {comp.bin_width:.3f}); details in "
        f"{os.path.join(args.out, 'competition.json')}")
  return 0


if __name__ == "__main__":
  sys.exit(main())

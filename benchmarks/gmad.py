"""gMAD pair selection: wall time of the JAX solver vs the NumPy/Python brute-force reference.

For each pool size N (default 10^4, 10^5, 10^6), one random pool shaped like method.md §5:
N/10 contents, each with 5 of 25 distortion types x 2 levels; M = 10 models scoring
``clip(q + N(0, 10^2), 0, 100)`` of a latent quality ``q ~ U(0, 100)``, i.e. already on the
common scale. The competition is the paper's: 5 levels (10, 30, 50, 70, 90), bin width 3.8
(half the embedded stand-in's mean MOS std of about 7.6), k = 12, limits 2 per content, 3 per
type, 1 per type pair, every ordered (defender, attacker) pair, i.e. both roles: 90 roles.

* ``jax``: ``biqa_jax.gmad.run_competition`` (host checks + one jitted call). ``first`` is the
  first call (tracing + XLA compile + run); ``steady`` the median of ``--repeats`` later calls.
* ``reference``: ``brute_force_select_pairs`` of tests/test_gmad.py (enumerate every pair of a
  bin, sort, Python loop), the implementation the tests compare the solver with, role after
  role until ``--ref-budget`` seconds are spent. If it finished every role, its time is exact;
  otherwise it is extrapolated (``est.``) from the roles done. A bin with more than
  ``--ref-max-pairs`` pairs is not attempted (memory); its estimate is then the per-pair time of
  the largest pool measured times the number of pairs (``est.²``, quadratic in the bin size).
  On every role the reference ran, its pairs must equal the solver's (checked, else exit 1).

Usage (from the repository root)::

  python benchmarks/gmad.py                          # 10^4, 10^5, 10^6
  python benchmarks/gmad.py --sizes 10000 --ref-budget 30 --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

import jax  # noqa: E402

from biqa_jax import gmad  # noqa: E402
from tests.test_gmad import brute_force_select_pairs  # noqa: E402

NUM_MODELS = 10
BIN_WIDTH = 3.8
LIMITS = dict(gmad.DEFAULT_LIMITS)


def random_pool(n: int, seed: int = 0):
  """``(scores [n, 10] float32, content_id [n], distortion_type [n])`` as in the docstring."""
  rng = np.random.default_rng(seed)
  contents = -(-n // 10)
  types = np.argsort(rng.random((contents, 25)), axis=1)[:, :5]       # 5 distinct types each
  distortion_type = np.repeat(types, 2, axis=1).reshape(-1)[:n]       # x 2 levels
  content_id = np.repeat(np.arange(contents), 10)[:n]
  quality = rng.uniform(0, 100, n)
  scores = np.clip(quality[:, None] + rng.normal(0, 10, (n, NUM_MODELS)), 0, 100)
  return scores.astype(np.float32), content_id, distortion_type


def time_jax(scores, content, dtype, repeats: int):
  kwargs = dict(centers=gmad.DEFAULT_CENTERS, bin_width=BIN_WIDTH, k=gmad.DEFAULT_K, **LIMITS)
  start = time.perf_counter()
  comp = gmad.run_competition(scores, content, dtype, **kwargs)
  first = time.perf_counter() - start
  steady = []
  for _ in range(repeats):
    start = time.perf_counter()
    comp = gmad.run_competition(scores, content, dtype, **kwargs)
    steady.append(time.perf_counter() - start)
  return comp, first, statistics.median(steady)


def time_reference(scores, content, dtype, comp, budget: float, max_pairs: float):
  """``(seconds or None, roles done, pairs enumerated, mismatching roles)``."""
  roles = [(d, a) for a in range(NUM_MODELS) for d in range(NUM_MODELS) if d != a]
  biggest = int(comp.candidates.max())
  if biggest * (biggest - 1) / 2 > max_pairs:
    return None, 0, 0, 0
  done, pairs, bad = 0, 0, 0
  start = time.perf_counter()
  for d, a in roles:
    ref = brute_force_select_pairs(scores, content, dtype, d, a, gmad.DEFAULT_CENTERS, BIN_WIDTH,
                                   gmad.DEFAULT_K, LIMITS)
    bad += not np.array_equal(ref, comp.pairs[d, a])
    done += 1
    pairs += int(np.sum(comp.candidates[d, a] * (comp.candidates[d, a] - 1) // 2))
    if time.perf_counter() - start > budget:
      break
  return time.perf_counter() - start, done, pairs, bad


def main() -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
  parser.add_argument("--repeats", type=int, default=3)
  parser.add_argument("--ref-budget", type=float, default=120.0,
                      help="seconds of reference time per pool size before extrapolating")
  parser.add_argument("--ref-max-pairs", type=float, default=2e7,
                      help="largest bin (in pairs) the reference attempts")
  parser.add_argument("--json", help="also write the rows here")
  args = parser.parse_args()

  device = jax.devices()[0]
  print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores, "
        f"JAX {jax.__version__} on {device.platform} ({device.device_kind})")
  print(f"# M = {NUM_MODELS} models, 90 roles, 5 levels, k = {gmad.DEFAULT_K}, bin width "
        f"{BIN_WIDTH}, limits {LIMITS}")
  header = ("| N | mean bin | pairs found | jax first call (s) | jax steady (s) | reference (s) "
            "| reference / jax steady |")
  print(header + "\n|---|---|---|---|---|---|---|")
  rows, per_pair, failed = [], None, False
  for n in args.sizes:
    scores, content, dtype = random_pool(n)
    comp, first, steady = time_jax(scores, content, dtype, args.repeats)
    off = ~np.eye(NUM_MODELS, dtype=bool)
    all_pairs = float(np.sum((comp.candidates * (comp.candidates - 1) // 2)[off]))
    seconds, done, pairs, bad = time_reference(scores, content, dtype, comp, args.ref_budget,
                                               args.ref_max_pairs)
    failed |= bad > 0
    if seconds is None:
      ref = per_pair * all_pairs if per_pair else None
      label = f"{ref:.3g} est.²" if ref else "not run"
    else:
      per_pair = seconds / max(pairs, 1)
      ref = seconds * 90 / done
      label = f"{ref:.3g}" if done == 90 else f"{ref:.3g} est. ({done} roles run)"
    ratio = f"{ref / steady:.0f}x" if ref else "—"
    found = int(np.sum(comp.pairs[..., 0] >= 0))
    mean_bin = float(np.mean(comp.candidates[off]))
    print(f"| {n:,} | {mean_bin:,.0f} | {found} | {first:.2f} | {steady:.2f} | {label} | {ratio} |"
          + (f"  MISMATCH in {bad} role(s)" if bad else ""), flush=True)
    rows.append({"n": n, "mean_bin": mean_bin, "pairs_found": found, "jax_first_s": first,
                 "jax_steady_s": steady, "reference_s": ref, "reference_roles_run": done,
                 "reference_exact": seconds is not None and done == 90, "mismatching_roles": bad})
  if args.json:
    with open(args.json, "w") as f:
      json.dump({"device": str(device), "rows": rows}, f, indent=2)
  return 1 if failed else 0


if __name__ == "__main__":
  sys.exit(main())

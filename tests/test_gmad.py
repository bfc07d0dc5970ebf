"""biqa_jax.gmad against a NumPy brute force over all pairs, plus property checks (method.md §6).

The guarantee under test (biqa_jax.gmad docstring): ``select_pairs`` returns exactly the list of
the sequential greedy that visits ALL pairs (x, y) of bin members with x ≻ y (attacker order:
higher score, then lower index) by (A(x) − A(y) desc, x's attacker rank asc, y's attacker rank
desc) and accepts a pair iff the per-level diversity limits still hold. Two independent checks:

* :func:`brute_force_select_pairs` enumerates and sorts every pair, then loops (equality);
* :func:`check_greedy_certificate` needs no enumeration order from the solver: a list is the
  greedy's iff it is in visiting order, keeps the limits, and every pair left out either comes
  after the k-th selected pair or would break a limit next to the selected pairs visited before
  it. That is "no admissible pair with a larger attacker difference was left out".

Scores are drawn from a coarse grid so that equal scores, equal differences and bin edges (both
ends are included) occur often; shapes are shared between tests so ``jit`` compiles few times.
"""

import collections
import itertools
import json
import os
import warnings

import numpy as np
import pytest

from biqa_jax import gmad, losses, metrics

N, M = 60, 3
CENTERS = (10.0, 30.0, 50.0)
WIDTH = 10.0
K = 4
LIMIT_SETTINGS = (
    {"max_per_content": 2, "max_per_type": 3, "max_per_type_pair": 1},   # the paper's
    {"max_per_content": 1, "max_per_type": 2, "max_per_type_pair": 2},
    {"max_per_content": None, "max_per_type": None, "max_per_type_pair": None},
)


# ---------------------------------------------------------------------------------------------
# Independent references


def bin_members(scores, defender, attacker, center, width):
  half = np.float32(width) / np.float32(2)
  lo, hi = np.float32(center) - half, np.float32(center) + half
  d, a = scores[:, defender], scores[:, attacker]
  return [i for i in range(len(scores))
          if np.isfinite(d[i]) and np.isfinite(a[i]) and lo <= d[i] <= hi]


def visiting_order(scores, attacker, members):
  """All (x, y) with x ≻ y among ``members``, in the greedy's visiting order."""
  a = scores[:, attacker]
  rank = {i: r for r, i in enumerate(sorted(members, key=lambda i: (-float(a[i]), i)))}
  pairs = [(x, y) for x in members for y in members if rank[x] < rank[y]]
  return sorted(pairs, key=lambda q: (-float(a[q[0]] - a[q[1]]), rank[q[0]], -rank[q[1]]))


def breaks_limit(pairs, content, dtype, limits):
  """True iff the list of pairs exceeds a diversity limit (None = no limit)."""
  c, t, tp = limits["max_per_content"], limits["max_per_type"], limits["max_per_type_pair"]
  contents = collections.Counter(content[i] for pair in pairs for i in pair)
  types = collections.Counter(dtype[i] for pair in pairs for i in pair)
  combos = collections.Counter(frozenset((dtype[x], dtype[y])) for x, y in pairs)
  return ((c is not None and max(contents.values(), default=0) > c)
          or (t is not None and max(types.values(), default=0) > t)
          or (tp is not None and max(combos.values(), default=0) > tp))


def brute_force_select_pairs(scores, content, dtype, defender, attacker, centers, width, k,
                             limits):
  """``[L, k, 2]``: enumerate every pair, sort, and run the greedy with a Python loop."""
  scores = np.asarray(scores, np.float32)
  unlimited = 2 * k
  c, t, tp = (unlimited if limits[key] is None else limits[key]
              for key in ("max_per_content", "max_per_type", "max_per_type_pair"))
  out = np.full((len(centers), k, 2), -1)
  for lvl, center in enumerate(centers):
    chosen = []
    contents, types, combos = collections.Counter(), collections.Counter(), collections.Counter()
    for x, y in visiting_order(scores, attacker, bin_members(scores, defender, attacker, center,
                                                             width)):
      if len(chosen) == k:
        break
      new_contents = contents + collections.Counter([content[x], content[y]])
      new_types = types + collections.Counter([dtype[x], dtype[y]])
      combo = frozenset((dtype[x], dtype[y]))
      if (max(new_contents.values()) <= c and max(new_types.values()) <= t
          and combos[combo] + 1 <= tp):
        chosen.append((x, y))
        contents, types = new_contents, new_types
        combos[combo] += 1
    if chosen:
      out[lvl, :len(chosen)] = chosen
  return out


def check_greedy_certificate(result, scores, content, dtype, defender, attacker, centers,
                             width, k, limits):
  scores = np.asarray(scores, np.float32)
  for lvl, center in enumerate(centers):
    members = bin_members(scores, defender, attacker, center, width)
    chosen = [tuple(p) for p in result[lvl].tolist() if p[0] >= 0]
    assert all(p[0] < 0 for p in result[lvl, len(chosen):]), "padding only at the end"
    # Inside the bin, x rated better by the attacker, no repeated pair, limits kept.
    assert all(x in members and y in members for x, y in chosen)
    assert len(set(chosen)) == len(chosen)
    assert not breaks_limit(chosen, content, dtype, limits)
    order = visiting_order(scores, attacker, members)
    position = {pair: r for r, pair in enumerate(order)}
    assert all(pair in position for pair in chosen), "x must be the attacker's better image"
    assert [position[p] for p in chosen] == sorted(position[p] for p in chosen)
    for pair in order:
      if pair in chosen:
        continue
      before = [p for p in chosen if position[p] < position[pair]]
      assert len(before) == k or breaks_limit(before + [pair], content, dtype, limits), (
          f"level {center}: pair {pair} (difference "
          f"{scores[pair[0], attacker] - scores[pair[1], attacker]}) is admissible next to "
          f"{before} but was left out")


def random_pool(seed, n=N, m=M, grid=12, step=5.0, types=4, nan_fraction=0.0):
  """Scores on a coarse grid (ties), optional NaNs; ``n/3`` contents of 3 images of types
  (a, a, b), so every pool has at most 2 images per (content, type) and one compiled solver."""
  rng = np.random.default_rng(seed)
  scores = (rng.integers(0, grid, (n, m)) * step).astype(np.float32)
  scores[rng.random((n, m)) < nan_fraction] = np.nan
  order = rng.permutation(n)
  content = np.empty(n, int)
  content[order] = np.arange(n) // 3
  first, shift = rng.integers(0, types, n // 3), rng.integers(1, types, n // 3)
  dtype = np.empty(n, int)
  dtype[order] = np.stack([first, first, (first + shift) % types], axis=1).reshape(-1)
  return scores, content, dtype * 7 - 3  # arbitrary type ids


# ---------------------------------------------------------------------------------------------
# Equality with the brute force and the greedy certificate


@pytest.mark.parametrize("limits", LIMIT_SETTINGS, ids=["paper", "tight", "none"])
def test_every_role_equals_brute_force_and_certificate_on_random_pools(limits):
  for seed in range(4):
    scores, content, dtype = random_pool(seed, nan_fraction=0.05 * (seed % 2))
    comp = gmad.run_competition(scores, content, dtype, centers=CENTERS, bin_width=WIDTH, k=K,
                                **limits)
    for d, a in itertools.permutations(range(M), 2):
      expected = brute_force_select_pairs(scores, content, dtype, d, a, CENTERS, WIDTH, K, limits)
      np.testing.assert_array_equal(comp.pairs[d, a], expected, err_msg=f"seed {seed} d{d} a{a}")
      check_greedy_certificate(comp.pairs[d, a], scores, content, dtype, d, a, CENTERS, WIDTH,
                               K, limits)
    assert np.all(comp.pairs[np.arange(M), np.arange(M)] == -1)


def adversarial_pool(seed, mirror, n=N):
  """A crowded bin whose attacker ranking comes in runs of one content and one type.

  Contents hold 3 consecutive attacker ranks (``mirror``: also the 3 mirrored ranks from the
  bottom, so the best and the worst images share contents); types come in runs of 7 ranks.
  Used contents then block the next-best images of a type, by saturation or by sharing the
  partner's content, so the greedy must reach deep into each type's list (the solver's ``T``)
  and past its first admissible images (``R``).
  """
  rng = np.random.default_rng(seed)
  att = rng.permutation(n).astype(np.float32)
  if seed % 2:
    att = np.floor(att / 2)  # ties
  rank = np.argsort(np.argsort(-att, kind="stable"), kind="stable")
  content = (np.minimum(rank, n - 1 - rank) if mirror else rank) // 3
  dtype = ((rank + seed) // 7) % 4
  other = (rng.integers(0, 12, n) * 5).astype(np.float32)
  dfd = np.where(rng.random(n) < 0.85, 30.0, other)
  return np.stack([dfd, att, other], axis=1), content, dtype


ADVERSARIAL_LIMITS = (LIMIT_SETTINGS[0],
                      {"max_per_content": 2, "max_per_type": 4, "max_per_type_pair": 2},
                      {"max_per_content": 3, "max_per_type": 4, "max_per_type_pair": 2})
# Seeds whose (content, type) groups round to one compiled solver per variant (speed).
ADVERSARIAL_SEEDS = (0, 1, 2, 3, 4, 6, 7)


def mismatches_with_brute_force(limits, mirror):
  bad = 0
  for seed in ADVERSARIAL_SEEDS:
    scores, content, dtype = adversarial_pool(seed, mirror)
    with warnings.catch_warnings():
      warnings.filterwarnings("ignore", "defender 0: level", RuntimeWarning)  # empty levels 10, 50
      got = gmad.select_pairs(scores, content, dtype, defender=0, attacker=1, centers=CENTERS,
                              bin_width=WIDTH, k=K, **limits)
    bad += not np.array_equal(got, brute_force_select_pairs(scores, content, dtype, 0, 1,
                                                            CENTERS, WIDTH, K, limits))
  return bad


@pytest.mark.parametrize("limits", ADVERSARIAL_LIMITS, ids=["paper", "loose", "looser"])
@pytest.mark.parametrize("mirror", [False, True], ids=["runs", "mirrored"])
def test_adversarial_pools_equal_brute_force(limits, mirror):
  assert mismatches_with_brute_force(limits, mirror) == 0


@pytest.mark.parametrize("short, limits, mirror", [
    ((4, 4), ADVERSARIAL_LIMITS[1], True),    # lists of 4 images per type
    ((32, 2), ADVERSARIAL_LIMITS[2], True),   # full lists, 2 admissible images per type and step
])
def test_adversarial_pools_catch_lists_shorter_than_the_proven_bound(monkeypatch, short, limits,
                                                                      mirror):
  # The test above could not fail if its pools never needed the deep list entries.
  monkeypatch.setattr(gmad, "_list_lengths",
                      lambda k, c, g, largest: (min(short[0], largest), short[1]))
  assert mismatches_with_brute_force(limits, mirror) > 0


def test_select_pairs_is_run_competition_for_one_role():
  scores, content, dtype = random_pool(7)
  comp = gmad.run_competition(scores, content, dtype, centers=CENTERS, bin_width=WIDTH, k=K)
  one = gmad.select_pairs(scores, content, dtype, defender=2, attacker=0, centers=CENTERS,
                          bin_width=WIDTH, k=K)
  assert one.shape == (len(CENTERS), K, 2) and one.dtype == np.int32
  np.testing.assert_array_equal(one, comp.pairs[2, 0])


def test_negative_zero_scores_are_the_same_as_zero():
  # Ties at 0 (the lowest grid score: the first entries of every "worse image" list) must be
  # broken by index whatever the sign bit; a sort on bit patterns would order -0.0 first.
  scores, content, dtype = random_pool(8)
  signed = scores.copy()
  zeros = np.flatnonzero(scores.reshape(-1) == 0)
  assert zeros.size > 10
  signed.reshape(-1)[zeros[::2]] = -0.0
  kwargs = dict(centers=CENTERS, bin_width=WIDTH, k=K)
  np.testing.assert_array_equal(gmad.run_competition(signed, content, dtype, **kwargs).pairs,
                                gmad.run_competition(scores, content, dtype, **kwargs).pairs)


def test_without_limits_the_pairs_are_the_k_largest_attacker_differences_eq10():
  # No limits: the list is the top-k of A(x) − A(y) over the bin (Eq. 10, then its runners-up).
  rng = np.random.default_rng(3)
  scores = rng.uniform(0, 60, (N, M)).astype(np.float32)
  content, dtype = rng.integers(0, 10, N), rng.integers(0, 4, N)
  out = gmad.select_pairs(scores, content, dtype, defender=0, attacker=1, centers=CENTERS,
                          bin_width=WIDTH, k=K, **LIMIT_SETTINGS[2])
  for lvl, center in enumerate(CENTERS):
    inside = np.flatnonzero(np.abs(scores[:, 0] - center) <= WIDTH / 2)
    diff = scores[inside, 1][:, None] - scores[inside, 1][None, :]
    top = np.sort(diff.reshape(-1))[::-1][:K]
    got = scores[out[lvl, :, 0], 1] - scores[out[lvl, :, 1], 1]
    np.testing.assert_array_equal(got, top)


def test_bin_includes_both_edges_and_nothing_outside():
  # Defender scores exactly on the edges (25, 35) are in level 30's bin; 24.99/35.01 are not.
  d = np.array([25.0, 35.0, 24.99, 35.01, 30.0, 30.0] * 4, np.float32)
  a = np.arange(d.size, dtype=np.float32)
  scores = np.stack([d, a, a[::-1]], axis=1)
  content, dtype = np.arange(d.size), np.arange(d.size) % 6
  out = gmad.select_pairs(scores, content, dtype, defender=0, attacker=1, centers=[30.0],
                          bin_width=10.0, k=4, **LIMIT_SETTINGS[2])[0]
  picked = set(out.reshape(-1).tolist())
  assert picked <= set(np.flatnonzero((d >= 25) & (d <= 35)).tolist())
  assert {d[i] for i in picked} >= {25.0, 35.0}  # the largest differences sit on the edges here


def test_higher_is_better_first_image_is_the_one_the_attacker_prefers():
  scores, content, dtype = random_pool(11)
  out = gmad.select_pairs(scores, content, dtype, defender=1, attacker=2, centers=CENTERS,
                          bin_width=WIDTH, k=K)
  x, y = out[..., 0][out[..., 0] >= 0], out[..., 1][out[..., 0] >= 0]
  assert x.size and np.all(scores[x, 2] >= scores[y, 2])


# ---------------------------------------------------------------------------------------------
# Bad input


def test_nan_and_inf_scores_are_counted_and_never_picked():
  scores, content, dtype = random_pool(5)
  bad = np.arange(0, N, 4)
  scores[bad, 0] = np.nan
  scores[bad[:3], 1] = np.inf
  with pytest.warns(RuntimeWarning) as record:
    out = gmad.select_pairs(scores, content, dtype, defender=0, attacker=1, centers=CENTERS,
                            bin_width=WIDTH, k=K)
  messages = [str(w.message) for w in record]
  assert any(m.startswith(f"{bad.size} NaN/inf score(s) of the defender") for m in messages)
  assert any(m.startswith("3 NaN/inf score(s) of the attacker") for m in messages)
  assert not set(out.reshape(-1).tolist()) & set(bad.tolist())
  comp = gmad.run_competition(scores, content, dtype, centers=CENTERS, bin_width=WIDTH, k=K)
  assert comp.nonfinite.tolist() == [bad.size, 3, 0]
  assert any("NaN/inf" in note for note in comp.notes)
  np.testing.assert_array_equal(comp.pairs[0, 1], out)


def test_level_with_fewer_than_two_candidates_is_reported_not_an_error():
  scores, content, dtype = random_pool(6)
  centers = (10.0, 30.0, 500.0)  # nobody scores 500
  with pytest.warns(RuntimeWarning, match="500"):
    out = gmad.select_pairs(scores, content, dtype, defender=0, attacker=1, centers=centers,
                            bin_width=WIDTH, k=K)
  assert np.all(out[2] == -1) and np.any(out[0] >= 0)
  comp = gmad.run_competition(scores, content, dtype, centers=centers, bin_width=WIDTH, k=K)
  assert np.all(comp.candidates[0, 1, 2] == 0) and any("500" in n for n in comp.notes)


@pytest.mark.parametrize("change, message", [
    (lambda s, c, t: (s[:, :1], c, t), "at least 2 models"),
    (lambda s, c, t: (s, c[:-1], t), "content_id has shape"),
    (lambda s, c, t: (s, c, t[:-2]), "distortion_type has shape"),
    (lambda s, c, t: (s, c.astype(float), t), "must be integers"),
])
def test_bad_shapes_raise_readable_errors(change, message):
  scores, content, dtype = change(*random_pool(0))
  with pytest.raises(ValueError, match=message):
    gmad.run_competition(scores, content, dtype, centers=CENTERS, bin_width=WIDTH, k=K)


def test_k_larger_than_the_limits_allow_raises():
  scores, content, _ = random_pool(0)
  one_type = np.zeros(N, int)  # one type, at most 3 uses: at most 1 pair per level
  with pytest.raises(ValueError, match="more than possible"):
    gmad.select_pairs(scores, content, one_type, defender=0, attacker=1, centers=CENTERS,
                      bin_width=WIDTH, k=2)
  out = gmad.select_pairs(scores, content, one_type, defender=0, attacker=1, centers=CENTERS,
                          bin_width=WIDTH, k=1)
  assert out.shape == (len(CENTERS), 1, 2)


@pytest.mark.parametrize("kwargs, message", [
    ({"defender": 1, "attacker": 1}, "both model 1"),
    ({"defender": 3, "attacker": 1}, "defender must be a model"),
    ({"defender": 0, "attacker": 1, "bin_width": 0.0}, "bin_width"),
    ({"defender": 0, "attacker": 1, "k": 0}, "k \\(pairs per level\\)"),
    ({"defender": 0, "attacker": 1, "max_per_type": 0}, "max_per_type must be"),
])
def test_bad_arguments_raise_readable_errors(kwargs, message):
  scores, content, dtype = random_pool(0)
  args = {"centers": CENTERS, "bin_width": WIDTH, "k": K} | kwargs
  with pytest.raises(ValueError, match=message):
    gmad.select_pairs(scores, content, dtype, **args)


# ---------------------------------------------------------------------------------------------
# Common scale


def test_common_scale_recovers_mos_through_an_exact_logistic_for_a_lower_is_better_model():
  rng = np.random.default_rng(0)
  mos = rng.uniform(5, 95, 200)
  eta = np.array([100.0, 0.0, 2.0, 0.7])
  # Invert Eq. 13, then flip the sign: a "lower = better" model whose mapping is exact.
  raw = -(eta[2] - eta[3] * np.log((eta[0] - eta[1]) / (mos - eta[1]) - 1.0))
  other = mos + rng.normal(0, 5, mos.size)
  scores = np.stack([raw, other], axis=1)
  params = gmad.fit_common_scale(scores, mos, [-1, 1])
  common = gmad.to_common_scale(scores, params, [-1, 1])
  assert common.dtype == np.float32 and common.shape == scores.shape
  np.testing.assert_allclose(common[:, 0], mos, atol=1e-2)
  assert metrics.srcc(common[:, 1], mos) > 0.9


def test_common_scale_warns_when_a_direction_is_wrong_and_keeps_nan():
  rng = np.random.default_rng(1)
  mos = rng.uniform(0, 100, 50)
  scores = np.stack([mos + rng.normal(0, 3, 50), mos], axis=1)
  with pytest.warns(RuntimeWarning, match="check the model's direction"):
    params = gmad.fit_common_scale(scores, mos, [-1, 1])
  scores[0, 1] = np.nan
  assert np.isnan(gmad.to_common_scale(scores, params, [-1, 1])[0, 1])


def test_default_bin_width_is_half_the_mean_mos_std():
  assert gmad.default_bin_width([4.0, 8.0, np.nan, 6.0]) == pytest.approx(3.0)
  with pytest.raises(ValueError, match="bin-width"):
    gmad.default_bin_width([np.nan])


# ---------------------------------------------------------------------------------------------
# Aggressiveness and resistance


def test_aggressiveness_and_resistance_are_mean_fidelity_losses_with_standard_errors():
  m, levels, k = 2, 1, 3
  pairs = np.full((m, m, levels, k, 2), -1)
  pairs[0, 1, 0] = [[0, 1], [2, 3], [-1, -1]]   # model 1 attacks model 0: two pairs
  pairs[1, 0, 0] = [[4, 5], [6, 7], [8, 9]]     # model 0 attacks model 1: three pairs
  prefs = np.full((m, m, levels, k), np.nan)
  prefs[0, 1, 0] = [1.0, 0.25, 0.9]            # the 0.9 sits on padding and must be ignored
  prefs[1, 0, 0] = [0.5, 0.5, 0.0]
  rows = gmad.aggressiveness_resistance(pairs, prefs, ["a", "b"])
  attack_b = [1 - np.sqrt(1.0), 1 - np.sqrt(0.25)]
  defend_a = [1 - np.sqrt(0.5), 1 - np.sqrt(0.125) - np.sqrt(0.375)]
  attack_a = [1 - np.sqrt(0.5), 1 - np.sqrt(0.5), 1.0]
  defend_b = [0.0, 0.0, 1 - np.sqrt(0.5)]
  for row, agg, res in ((rows[0], attack_a, defend_a), (rows[1], attack_b, defend_b)):
    assert row["aggressiveness"] == pytest.approx(np.mean(agg))
    assert row["aggressiveness_se"] == pytest.approx(np.std(agg, ddof=1) / np.sqrt(len(agg)))
    assert row["resistance"] == pytest.approx(np.mean(res))
    assert row["resistance_se"] == pytest.approx(np.std(res, ddof=1) / np.sqrt(len(res)))
  assert (rows[0]["n_attacking"], rows[0]["n_defending"]) == (3, 2)


def test_oracle_preferences_are_eq7_on_mos_and_nan_on_padding():
  mos, std = np.array([80.0, 40.0, 60.0]), np.array([5.0, 10.0, 0.0])
  p = gmad.oracle_preferences(np.array([[0, 1], [2, 1], [-1, -1]]), mos, std)
  np.testing.assert_allclose(p[:2], [losses.label_prob(80.0, 40.0, 5.0, 10.0),
                                     losses.label_prob(60.0, 40.0, 0.0, 10.0)], rtol=1e-6)
  assert np.isnan(p[2])


def test_write_report_and_image_sheet_produce_the_files(tmp_path):
  from PIL import Image

  rows = gmad.aggressiveness_resistance(np.array([[[[[-1, -1]]], [[[0, 1]]]],
                                                  [[[[1, 0]]], [[[-1, -1]]]]]),
                                        np.array([[[[np.nan]], [[0.9]]], [[[0.2]], [[np.nan]]]]),
                                        ["m0", "m1"])
  json_path, md_path, png_path = gmad.write_report(rows, str(tmp_path))
  assert [r["model"] for r in json.load(open(json_path))] == ["m0", "m1"]
  assert "| m1 |" in open(md_path).read() and os.path.getsize(png_path) > 0
  paths = []
  for i in range(3):
    paths.append(str(tmp_path / f"img{i}.png"))
    Image.fromarray(np.full((24, 32, 3), 60 * i, np.uint8)).save(paths[-1])
  scores = np.array([[50.0, 80.0], [51.0, 20.0], [49.0, 60.0]], np.float32)
  sizes = []
  for name, pairs in (("two.png", [[0, 1], [2, 1], [-1, -1]]), ("one.png", [[2, 1], [-1, -1]])):
    sheet = gmad.image_sheet(str(tmp_path / name), np.array(pairs), image_paths=paths,
                             image_ids=["a", "b", "c"], scores=scores, defender=0, attacker=1,
                             model_names=["D", "A"], center=50.0, bin_width=4.0)
    sizes.append(Image.open(sheet).size)
  assert sizes[0][0] == sizes[1][0] and sizes[0][1] > 1.6 * sizes[1][1]  # one row per pair


# ---------------------------------------------------------------------------------------------
# CLI


def test_cli_on_the_embedded_pool_writes_pairs_report_and_sheets(tmp_path, capsys):
  from biqa_jax.data import pool as pool_lib

  pool = pool_lib.embedded_pool(str(tmp_path / "pool"), short_side=48,
                                distortion_types=("jpeg", "white_noise", "gaussian_blur"))
  pool_file, out = str(tmp_path / "pool" / "pool.npz"), str(tmp_path / "out")
  # 3 types x 3 uses: at most 4 pairs per level; the default k = 12 is refused with the reason.
  assert gmad.main(["--scores", pool_file, "--out", out]) == 2
  assert "more than possible" in capsys.readouterr().err
  assert gmad.main(["--scores", pool_file, "--out", out, "--k", "3", "--centers", "60"]) == 0
  summary = json.load(open(os.path.join(out, "competition.json")))
  assert summary["bin_width"] == pytest.approx(0.5 * np.mean(pool.mos_std), rel=1e-6)
  saved = np.load(os.path.join(out, "pairs.npz"))
  common = gmad.to_common_scale(pool.scores,
                                gmad.fit_common_scale(pool.scores, pool.mos, pool.directions),
                                pool.directions)
  np.testing.assert_allclose(saved["common_scores"], common, rtol=1e-6)
  expected = gmad.run_competition(common, pool.content_id, pool.distortion_type, centers=[60.0],
                                  bin_width=summary["bin_width"], k=3)
  np.testing.assert_array_equal(saved["pairs"], expected.pairs)
  listed = [(r["defender"], r["attacker"], r["x"], r["y"]) for r in summary["pairs"]]
  names = pool.model_names
  assert listed == [(names[d], names[a], pool.image_id[x], pool.image_id[y])
                    for d in range(3) for a in range(3) for x, y in expected.pairs[d, a, 0]
                    if d != a and x >= 0]
  assert len(json.load(open(os.path.join(out, "aggressiveness_resistance.json")))) == 3
  assert len(os.listdir(os.path.join(out, "sheets"))) == 6  # 6 roles x 1 level


def test_per_image_distortion_ids_are_refused_with_an_explanation():
  n = 30_000
  scores = np.random.default_rng(0).uniform(0, 100, (n, 2)).astype(np.float32)
  with pytest.raises(ValueError, match="not a per-image id"):
    gmad.select_pairs(scores, np.arange(n), np.arange(n), defender=0, attacker=1, bin_width=4.0,
                      k=2)

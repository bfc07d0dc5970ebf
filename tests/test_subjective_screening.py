"""BT.500 screening and MOS against an exact brute-force re-computation; simulated panel.

The reference below follows method.md §7 literally, rating by rating, in exact rational arithmetic
(``fractions.Fraction``), so threshold boundaries are decided exactly; "x ≥ t·s" with t·s
irrational is decided as "x ≥ 0 and x² ≥ t²·s²".
"""

import csv
import json
import math
import statistics
from fractions import Fraction

import numpy as np
import pytest
import scipy.stats

from biqa_jax.subjective import results, screening, simulated


# --- exact reference ----------------------------------------------------------------------------

def _ge_sqrt(x: Fraction, c: Fraction) -> bool:
  """x ≥ √c, exactly."""
  return x >= 0 and x * x >= c


def reference_screen(ratings, outlier_share=Fraction(1, 20), asymmetry=Fraction(3, 10)):
  """(rejected[S], P[S], Q[S], N[S], t²[I] or None) by BT.500, one rating at a time."""
  r = np.asarray(ratings, dtype=float)
  n_s, n_i = r.shape
  p, q = [0] * n_s, [0] * n_s
  t_sq = []
  for i in range(n_i):
    who = [s for s in range(n_s) if not math.isnan(r[s, i])]
    u = {s: Fraction(r[s, i]) for s in who}
    n = len(who)
    if n < 2 or len(set(u.values())) == 1:
      t_sq.append(None)
      continue
    mean = sum(u.values()) / n
    m2 = sum((v - mean) ** 2 for v in u.values()) / n
    m4 = sum((v - mean) ** 4 for v in u.values()) / n
    beta2 = m4 / m2 ** 2
    t2 = 4 if 2 <= beta2 <= 4 else 20
    t_sq.append(t2)
    var = sum((v - mean) ** 2 for v in u.values()) / (n - 1)
    for s in who:
      if _ge_sqrt(u[s] - mean, t2 * var):      # u ≥ ū + t·s
        p[s] += 1
      if _ge_sqrt(mean - u[s], t2 * var):      # u ≤ ū − t·s
        q[s] += 1
  n_rated = [int((~np.isnan(r[s])).sum()) for s in range(n_s)]
  rejected = []
  for s in range(n_s):
    pq = p[s] + q[s]
    rejected.append(pq > 0 and Fraction(pq, n_rated[s]) > outlier_share
                    and Fraction(abs(p[s] - q[s]), pq) < asymmetry)
  return np.array(rejected), np.array(p), np.array(q), np.array(n_rated), t_sq


def reference_mos(ratings, rejected):
  r = np.asarray(ratings, dtype=float)
  mos, std = [], []
  for i in range(r.shape[1]):
    vals = [r[s, i] for s in range(r.shape[0]) if not rejected[s] and not math.isnan(r[s, i])]
    mos.append(statistics.fmean(vals) if vals else math.nan)
    std.append(statistics.stdev(vals) if len(vals) >= 2 else math.nan)
  return np.array(mos), np.array(std)


def assert_matches_reference(ratings):
  rejected, p, q, n, t_sq = reference_screen(ratings)
  counts = screening.bt500_counts(ratings)
  np.testing.assert_array_equal(counts.p, p)
  np.testing.assert_array_equal(counts.q, q)
  np.testing.assert_array_equal(counts.n, n)
  got_t = screening.image_stats(ratings).t_sq
  np.testing.assert_array_equal(got_t, [np.nan if t is None else t for t in t_sq])
  np.testing.assert_array_equal(screening.bt500_screen(ratings), rejected)
  return rejected


# --- hand-made columns (6 subjects unless said otherwise) --------------------------------------
# Deviations {+20, −8, −3, −3, −3, −3}: s = 10 exactly, β2 = 3.946 ∈ [2, 4] → t = 2, and the first
# rating lies exactly on ū + 2s. {+21, −8, −4, −3, −3, −3}: β2 = 3.98, the first is a clear P.
ON_HIGH = [70, 42, 47, 47, 47, 47]
ON_LOW = [100 - v for v in ON_HIGH]
CLEAR_HIGH = [71, 42, 46, 47, 47, 47]
CLEAR_LOW = [100 - v for v in CLEAR_HIGH]
JUST_INSIDE_HIGH = [69.75, 42, 47, 47, 47, 47.25]   # same mean; 69.75 < ū + 2s
NEUTRAL = [50, 51, 52, 53, 54, 55]                  # no rating beyond ū ± t·s


def _matrix(columns):
  return np.array(columns, dtype=float).T


def test_hand_made_columns_have_the_statistics_claimed_for_them():
  stats = screening.image_stats(_matrix([ON_HIGH, CLEAR_HIGH, NEUTRAL]))
  assert stats.mean[0] == 50 and stats.std[0] == 10
  assert 2 <= stats.kurtosis[0] <= 4 and 2 <= stats.kurtosis[1] <= 4
  np.testing.assert_array_equal(stats.t_sq, [4, 4, 20])   # NEUTRAL is platykurtic: β2 < 2
  assert np.mean(JUST_INSIDE_HIGH) == 50


def test_rating_exactly_on_mean_plus_t_std_counts_as_outlier():
  # Subject 0: one P (exactly on the boundary) and one clear Q in 10 images → balanced, share 0.2.
  cols = [ON_HIGH, CLEAR_LOW] + [NEUTRAL] * 8
  rejected = assert_matches_reference(_matrix(cols))
  c = screening.bt500_counts(_matrix(cols))
  assert (c.p[0], c.q[0]) == (1, 1)
  assert rejected.tolist() == [True] + [False] * 5
  # Just inside the boundary: only Q is left, |P−Q|/(P+Q) = 1 → kept.
  cols[0] = JUST_INSIDE_HIGH
  rejected = assert_matches_reference(_matrix(cols))
  assert not rejected.any()


def test_rating_exactly_on_mean_minus_t_std_counts_as_outlier():
  cols = [CLEAR_HIGH, ON_LOW] + [NEUTRAL] * 8
  rejected = assert_matches_reference(_matrix(cols))
  assert rejected.tolist() == [True] + [False] * 5


def test_outlier_share_exactly_five_percent_is_kept_and_above_is_rejected():
  # P = Q = 1 in N = 40 ratings: (P+Q)/N = 0.05 exactly, not > 0.05 → kept.
  cols = [CLEAR_HIGH, CLEAR_LOW] + [NEUTRAL] * 38
  r = _matrix(cols)
  assert not assert_matches_reference(r).any()
  # The same subject having rated one neutral image fewer: 2/39 > 0.05 → rejected. Its N counts
  # only the images it rated.
  r[0, 5] = np.nan
  assert assert_matches_reference(r).tolist() == [True] + [False] * 5


def test_asymmetry_exactly_point_three_is_kept_and_below_is_rejected():
  # 20 outliers among 40 ratings (share 0.5): P = 13, Q = 7 → |P−Q|/(P+Q) = 0.3, not < 0.3 → kept;
  # P = 12, Q = 8 → 0.2 → rejected.
  for n_high, expect in ((13, False), (12, True)):
    cols = [CLEAR_HIGH] * n_high + [CLEAR_LOW] * (20 - n_high) + [NEUTRAL] * 20
    rejected = assert_matches_reference(_matrix(cols))
    assert rejected[0] == expect, n_high
    assert not rejected[1:].any()


def test_one_sided_outliers_are_a_bias_not_a_reason_to_reject():
  cols = [CLEAR_HIGH] * 10 + [NEUTRAL] * 10   # P = 10, Q = 0: share 0.5, asymmetry 1
  assert not assert_matches_reference(_matrix(cols)).any()


def test_kurtosis_boundaries_two_and_four_take_t_equal_two():
  # Deviations {a, −a, 0, 0}: β2 = 2 exactly; {a, −a, 0}: β2 = 1.5. {2, −1, −1, 0×5}·10: β2 = 4
  # exactly; one more 0: β2 = 4.5.
  r2 = np.array([[60], [40], [50], [50]], dtype=float)
  r15 = np.array([[60], [40], [50]], dtype=float)
  r4 = np.array([[70], [40], [40]] + [[50]] * 5, dtype=float)
  r45 = np.array([[70], [40], [40]] + [[50]] * 6, dtype=float)
  assert screening.image_stats(r2).kurtosis[0] == 2 and screening.image_stats(r2).t_sq[0] == 4
  assert screening.image_stats(r15).t_sq[0] == 20
  assert screening.image_stats(r4).kurtosis[0] == 4 and screening.image_stats(r4).t_sq[0] == 4
  assert screening.image_stats(r45).t_sq[0] == 20
  # In the β2 = 4 column the 70 is beyond ū + 2s (2s = 18.5) but not ū + √20·s: it is a P only
  # because the boundary β2 = 4 takes t = 2.
  assert screening.bt500_counts(r4).p.tolist() == [1] + [0] * 7
  assert screening.bt500_counts(r45).p.tolist() == [0] * 9
  for r in (r2, r15, r4, r45):
    assert_matches_reference(r)


def test_kurtosis_is_m4_over_m2_squared_with_n_in_the_moments():
  rng = np.random.default_rng(3)
  r = rng.normal(50, 10, (9, 12))
  # scipy's Pearson kurtosis (fisher=False, bias=True) uses the same N-denominator moments.
  np.testing.assert_allclose(screening.image_stats(r).kurtosis,
                             scipy.stats.kurtosis(r, axis=0, fisher=False, bias=True), rtol=1e-12)
  np.testing.assert_allclose(screening.image_stats(r).std, r.std(axis=0, ddof=1), rtol=1e-12)


def test_images_with_one_rating_or_full_agreement_give_no_counts():
  r = np.array([[50, 30, 10], [50, np.nan, 90], [50, np.nan, 20]], dtype=float)
  stats = screening.image_stats(r)
  assert stats.usable.tolist() == [False, False, True]
  assert stats.std[0] == 0 and np.isnan(stats.std[1])
  assert_matches_reference(r)
  # Equal floats whose mean is not exactly representable still count as full agreement.
  r = np.full((3, 1), 0.1)
  assert not screening.image_stats(r).usable[0]
  assert screening.bt500_counts(r).p.tolist() == [0, 0, 0]


def test_random_matrices_match_the_reference():
  rng = np.random.default_rng(0)
  seen_rejected = seen_kept = seen_t2 = seen_t20 = 0
  for _ in range(200):
    s, i = rng.integers(3, 16), rng.integers(4, 30)
    # Coarse integer scores so that ties and exact boundaries happen; a few erratic subjects.
    r = np.round(rng.normal(rng.uniform(20, 80, i), rng.uniform(2, 10), (s, i)) / 5) * 5
    erratic = rng.random(s) < 0.2
    r[erratic] = np.round(rng.uniform(0, 100, (erratic.sum(), i)) / 5) * 5
    r[rng.random((s, i)) < 0.15] = np.nan
    rejected = assert_matches_reference(r)
    seen_rejected += rejected.sum()
    seen_kept += (~rejected).sum()
    t_sq = screening.image_stats(r).t_sq
    seen_t2 += (t_sq == 4).sum()
    seen_t20 += (t_sq == 20).sum()
  # The comparison covered both outcomes and both values of t.
  assert min(seen_rejected, seen_kept, seen_t2, seen_t20) > 20


def test_mos_and_std_match_statistics_module_on_kept_subjects():
  rng = np.random.default_rng(1)
  r = np.round(rng.uniform(0, 100, (8, 15)))
  r[rng.random(r.shape) < 0.2] = np.nan
  r[:, 3] = np.nan
  r[1:, 4] = np.nan
  rejected = np.zeros(8, dtype=bool)
  rejected[[2, 5]] = True
  mos, std = screening.mos(r, rejected)
  ref_mos, ref_std = reference_mos(r, rejected)
  np.testing.assert_allclose(mos, ref_mos, rtol=1e-12)
  np.testing.assert_allclose(std, ref_std, rtol=1e-12)
  assert np.isnan(mos[3]) and np.isnan(std[4]) and not np.isnan(mos[4])
  np.testing.assert_array_equal(screening.kept_counts(r, rejected),
                                (~np.isnan(r[~rejected])).sum(axis=0))


def test_outlier_rating_removal_uses_kept_subjects_statistics():
  # Eight kept subjects: image 0 is the β2 = 4 column, whose 70 lies beyond ū + 2s; subject 8
  # is rejected, and with its 0 the 70 would not be an outlier (the statistics must be the kept
  # subjects').
  col = [70, 40, 40, 50, 50, 50, 50, 50]
  neutral = [50, 51, 52, 53, 54, 55, 56, 57]
  r = np.array([col + [0.0], neutral + [0.0]]).T
  rejected = np.array([False] * 8 + [True])
  assert screening.outlier_ratings(r[:8])[:, 0].tolist() == [True] + [False] * 7
  assert not screening.outlier_ratings(r)[0, 0]
  mos, std = screening.mos(r, rejected, remove_outlier_ratings=True)
  assert mos[0] == pytest.approx(np.mean(col[1:]))
  assert std[0] == pytest.approx(np.std(col[1:], ddof=1))
  assert mos[1] == pytest.approx(np.mean(neutral))
  # Without the option the outlier stays in the mean.
  assert screening.mos(r, rejected)[0][0] == pytest.approx(np.mean(col))
  assert screening.kept_counts(r, rejected, remove_outlier_ratings=True).tolist() == [7, 8]


def test_bad_inputs_raise_readable_errors():
  with pytest.raises(ValueError, match=r"2-D \[S, I\]"):
    screening.bt500_screen(np.zeros(5))
  with pytest.raises(ValueError, match="inf"):
    screening.bt500_screen(np.array([[1.0, np.inf]]))
  with pytest.raises(ValueError, match="bool mask"):
    screening.mos(np.zeros((3, 2)), np.array([0, 1, 0]))
  with pytest.raises(ValueError, match="bool mask"):
    screening.mos(np.zeros((3, 2)), np.zeros(2, dtype=bool))


# --- simulated panel ------------------------------------------------------------------------------

def _oracle(n_images, seed):
  rng = np.random.default_rng(seed)
  ids = [f"img{k:04d}.png" for k in range(n_images)]
  quality = rng.uniform(5, 95, n_images)
  return ids, quality, simulated.oracle_from_scores(dict(zip(ids, quality, strict=True)))


def test_panel_composition_and_good_raters_follow_the_oracle():
  ids, quality, oracle = _oracle(300, 0)
  panel = simulated.make_panel(oracle, 20, careless_share=0.2, seed=4)
  assert sorted(panel.kinds).count("random") == 2 and sorted(panel.kinds).count("inverted") == 2
  assert panel.careless.sum() == 4
  r = panel.rate_images(ids)
  assert r.shape == (20, 300) and np.all((r >= 0) & (r <= 100)) and np.all(r == np.round(r))
  for j, kind in enumerate(panel.kinds):
    rho = scipy.stats.spearmanr(r[j], quality).statistic
    expect = {"good": rho > 0.8, "inverted": rho < -0.8, "random": abs(rho) < 0.25}[kind]
    assert expect, (kind, rho)
  # A good rater's mean follows 50 + scale·(q − 50) + bias (noise is zero-mean; little clipping
  # for mid-range images).
  mid = (quality > 30) & (quality < 70)
  j = panel.kinds.index("good")
  resid = r[j, mid] - (50 + panel.scale[j] * (quality[mid] - 50) + panel.bias[j])
  assert abs(resid.mean()) < 3 * panel.noise[j] / np.sqrt(mid.sum()) + 0.5
  assert resid.std() == pytest.approx(panel.noise[j], rel=0.25)


def test_screening_removes_careless_raters_of_a_simulated_panel():
  # 15 subjects per round (method.md §7), 20 % careless, each rating ~1000 images (a gMAD round
  # has up to 1,080 pairs). Over 10 panels: 30 careless raters and 120 good ones.
  caught, wrongly = [], []
  for seed in range(10):
    ids, quality, oracle = _oracle(1000, 100 + seed)
    panel = simulated.make_panel(oracle, 15, careless_share=0.2, seed=seed)
    rejected = screening.bt500_screen(panel.rate_images(ids))
    caught += rejected[panel.careless].tolist()
    wrongly += rejected[~panel.careless].tolist()
  assert len(caught) == 30 and len(wrongly) == 120
  assert np.mean(caught) >= 0.9, f"careless raters rejected: {np.mean(caught):.2f}"
  assert np.mean(wrongly) < 0.1, f"good raters rejected: {np.mean(wrongly):.2f}"


def test_screened_mos_tracks_the_oracle_better_than_raw_mos():
  ids, quality, oracle = _oracle(1000, 7)
  panel = simulated.make_panel(oracle, 15, careless_share=0.2, seed=7)
  r = panel.rate_images(ids)
  rejected = screening.bt500_screen(r)
  mos, std = screening.mos(r, rejected, remove_outlier_ratings=True)
  raw_mos, raw_std = screening.mos(r, None)
  assert scipy.stats.spearmanr(mos, quality).statistic > 0.98
  # What the good raters would agree on on average: 50 + mean scale·(q − 50) + mean bias.
  good = ~panel.careless
  target = np.clip(50 + panel.scale[good].mean() * (quality - 50) + panel.bias[good].mean(), 0, 100)
  assert np.sqrt(np.mean((mos - target) ** 2)) < 0.5 * np.sqrt(np.mean((raw_mos - target) ** 2))
  assert np.median(std) < np.median(raw_std)


def test_simulated_mos_writes_the_table_active_learning_reads(tmp_path):
  ids, quality, oracle = _oracle(200, 2)
  table, report = simulated.simulated_mos(ids, oracle, n_raters=15, careless_share=0.2, seed=1)
  assert table.image_ids == tuple(ids)
  assert report.rater_ids[0].startswith("sim-")
  rejected_ids = {r["rater_id"] for r in report.rejected}
  assert all(("random" in r or "inverted" in r) for r in rejected_ids)
  path = tmp_path / "mos.csv"
  results.write_mos_csv(table, str(path))
  with open(path, newline="") as f:
    rows = list(csv.reader(f))
  assert rows[0] == ["image_id", "mos", "std", "n_raters"]
  back = results.read_mos_csv(str(path))
  assert back.image_ids == table.image_ids
  np.testing.assert_array_equal(back.mos, table.mos)      # repr() round-trips floats exactly
  np.testing.assert_array_equal(back.std, table.std)
  np.testing.assert_array_equal(back.n_raters, table.n_raters)
  results.write_report(report, str(tmp_path / "r.json"))
  doc = json.loads((tmp_path / "r.json").read_text())
  assert doc["n_rejected"] == len(rejected_ids) and doc["rejected"][0]["why"]


def test_oracle_errors_are_readable():
  with pytest.raises(KeyError, match="no score"):
    simulated.oracle_from_scores({"a": 1.0})(["a", "b"])
  panel = simulated.make_panel(lambda ids: np.zeros(len(ids) + 1), 3)
  with pytest.raises(ValueError, match="one per image"):
    panel.rate_images(["a", "b"])
  with pytest.raises(ValueError, match="careless_share"):
    simulated.make_panel(lambda ids: np.zeros(len(ids)), 3, careless_share=1.5)

"""biqa_jax.metrics against SciPy and brute-force references (method.md §4)."""

import itertools
import math
import warnings

import numpy as np
import pytest
import scipy.optimize
import scipy.stats

from biqa_jax import metrics


def noisy_monotone_data(seed=0, n=80):
  rng = np.random.default_rng(seed)
  pred = rng.normal(size=n)
  mos = 40 * np.tanh(pred) + 50 + rng.normal(0, 6, size=n)
  return pred, mos


def brute_force_tau_b(x, y):
  """Kendall tau-b by counting all pairs."""
  concordant = discordant = tied_x_only = tied_y_only = 0
  for i, j in itertools.combinations(range(len(x)), 2):
    sx, sy = np.sign(x[i] - x[j]), np.sign(y[i] - y[j])
    if sx == 0 and sy == 0:
      continue
    if sx == 0:
      tied_x_only += 1
    elif sy == 0:
      tied_y_only += 1
    elif sx == sy:
      concordant += 1
    else:
      discordant += 1
  return (concordant - discordant) / math.sqrt(
      (concordant + discordant + tied_x_only) * (concordant + discordant + tied_y_only))


def manual_logistic_fit(pred, mos):
  """The usual IQA recipe written out independently: Eq. 13 with np.exp and curve_fit."""

  def curve(f, b1, b2, b3, b4):
    return (b1 - b2) / (1 + np.exp(-(f - b3) / abs(b4))) + b2

  p0 = [np.max(mos), np.min(mos), np.mean(pred), np.std(pred) / 4]
  eta, _ = scipy.optimize.curve_fit(curve, pred, mos, p0=p0, maxfev=20_000)
  return curve(pred, *eta)


# ---------------------------------------------------------------------------------------------
# SRCC / KRCC


def test_srcc_matches_scipy_spearmanr_and_pearson_of_average_ranks_with_ties():
  pred, mos = noisy_monotone_data(1)
  pred = np.round(pred, 1)  # ties
  want = scipy.stats.spearmanr(pred, mos).statistic
  assert metrics.srcc(pred, mos) == pytest.approx(want, abs=1e-12)
  ranks = np.corrcoef(scipy.stats.rankdata(pred), scipy.stats.rankdata(mos))[0, 1]
  assert metrics.srcc(pred, mos) == pytest.approx(ranks, abs=1e-12)


def test_krcc_is_tau_b_matching_scipy_and_a_pair_count_with_ties():
  rng = np.random.default_rng(2)
  pred = rng.integers(0, 3, 40).astype(float)  # few distinct values: tau-b and tau-c differ
  mos = pred + rng.integers(-2, 4, 40)
  assert metrics.krcc(pred, mos) == pytest.approx(brute_force_tau_b(pred, mos), abs=1e-12)
  assert metrics.krcc(pred, mos) == pytest.approx(
      scipy.stats.kendalltau(pred, mos, variant="b").statistic, abs=1e-12)
  tau_c = scipy.stats.kendalltau(pred, mos, variant="c").statistic
  assert abs(metrics.krcc(pred, mos) - tau_c) > 0.03


def test_srcc_and_krcc_are_invariant_to_strictly_increasing_transforms_of_pred():
  pred, mos = noisy_monotone_data(3)
  transformed = np.exp(3 * pred) - 7
  # A non-linear transform: Pearson changes, rank correlations must not.
  assert abs(np.corrcoef(pred, mos)[0, 1] - np.corrcoef(transformed, mos)[0, 1]) > 0.05
  assert metrics.srcc(transformed, mos) == pytest.approx(metrics.srcc(pred, mos), abs=1e-12)
  assert metrics.krcc(transformed, mos) == pytest.approx(metrics.krcc(pred, mos), abs=1e-12)
  assert metrics.srcc(-pred, mos) == pytest.approx(-metrics.srcc(pred, mos), abs=1e-12)


# ---------------------------------------------------------------------------------------------
# logistic_4 / fit_logistic


def test_logistic_4_matches_eq13_and_uses_the_absolute_value_of_eta4():
  f = np.linspace(-5, 5, 41)
  want = (80 - 10) / (1 + np.exp(-(f - 0.5) / 1.5)) + 10
  np.testing.assert_allclose(metrics.logistic_4(f, 80, 10, 0.5, 1.5), want, rtol=1e-13)
  np.testing.assert_allclose(metrics.logistic_4(f, 80, 10, 0.5, -1.5), want, rtol=1e-13)


def test_logistic_4_saturates_at_eta2_and_eta1_without_overflow_warnings():
  with warnings.catch_warnings():
    warnings.simplefilter("error")
    ends = metrics.logistic_4(np.array([-1e6, 1e6]), 9.0, 1.0, 0.0, 1e-3)
  np.testing.assert_array_equal(ends, [1.0, 9.0])


def test_fit_logistic_recovers_the_parameters_of_exactly_logistic_data():
  pred = np.linspace(-1, 5, 60)
  true = (5.0, 1.0, 2.3, 0.7)
  eta = metrics.fit_logistic(pred, metrics.logistic_4(pred, *true))
  assert eta.shape == (4,) and eta.dtype == np.float64
  np.testing.assert_allclose([eta[0], eta[1], eta[2], abs(eta[3])], true, rtol=1e-6, atol=1e-8)


def test_logistic_4_jacobian_matches_central_differences_for_both_signs_of_eta4():
  f = np.linspace(-4, 6, 25)
  for eta in ([80.0, 10.0, 0.5, 1.5], [3.0, 7.0, -1.0, -0.8]):
    numeric = np.empty((f.size, 4))
    for k in range(4):
      step = np.zeros(4)
      step[k] = 1e-6
      numeric[:, k] = (metrics.logistic_4(f, *(np.add(eta, step))) -
                       metrics.logistic_4(f, *(np.subtract(eta, step)))) / 2e-6
    np.testing.assert_allclose(metrics._logistic_4_jacobian(f, *eta), numeric, rtol=1e-6, atol=1e-7)


def test_fit_logistic_moves_eta3_when_predictions_are_zero_centred():
  # MINPACK's finite differences step by ~1e-8·|η3| and never move η3 from mean(pred) ≈ 1e-16.
  pred = np.linspace(-3, 3, 60)
  mos = metrics.logistic_4(pred, 5.0, 1.0, 0.3, 0.7)
  assert abs(np.mean(pred)) < 1e-12
  assert metrics.fit_logistic(pred, mos)[2] == pytest.approx(0.3, abs=1e-6)


def test_fit_logistic_on_three_items_warns_and_uses_the_fallback_curve():
  pred, mos = np.array([0.2, 1.0, 3.0]), np.array([10.0, 30.0, 35.0])
  with pytest.warns(RuntimeWarning, match="only 3 points for 4 parameters"):
    eta = metrics.fit_logistic(pred, mos)
  np.testing.assert_allclose(eta[2:], [np.mean(pred), np.std(pred) / 4], rtol=1e-12)
  assert np.all(np.isfinite(eta))


def test_plcc_is_one_and_rmse_zero_for_data_generated_exactly_by_a_logistic():
  rng = np.random.default_rng(4)
  pred = rng.uniform(-10, 30, 100)
  mos = metrics.logistic_4(pred, 95.0, 5.0, 12.0, 4.0)
  assert metrics.plcc(pred, mos) == pytest.approx(1.0, abs=1e-10)
  assert metrics.rmse(pred, mos) == pytest.approx(0.0, abs=1e-6)
  # Pearson r without the fit is clearly below 1 on the same data: the fit is doing the work.
  assert np.corrcoef(pred, mos)[0, 1] < 0.99


def test_plcc_and_rmse_match_a_manual_scipy_fit_followed_by_pearsonr():
  pred, mos = noisy_monotone_data(5)
  fitted = manual_logistic_fit(pred, mos)
  assert metrics.plcc(pred, mos) == pytest.approx(scipy.stats.pearsonr(fitted, mos).statistic,
                                                  abs=1e-6)
  assert metrics.rmse(pred, mos) == pytest.approx(np.sqrt(np.mean((fitted - mos)**2)), rel=1e-6)


def test_fit_logistic_falls_back_to_linearly_refined_initial_guess_when_it_cannot_converge():
  pred, mos = noisy_monotone_data(6)
  with pytest.warns(RuntimeWarning, match=r"fit failed \(.*maxfev = 1.*linear least squares"):
    eta = metrics.fit_logistic(pred, mos, maxfev=1)
  eta3, eta4 = np.mean(pred), np.std(pred) / 4
  np.testing.assert_allclose(eta[2:], [eta3, eta4], rtol=1e-12)
  # Independent refit: MOS ≈ slope·s + intercept with s the logistic's 0..1 shape.
  s = 1 / (1 + np.exp(-(pred - eta3) / eta4))
  slope, intercept = np.polyfit(s, mos, 1)
  np.testing.assert_allclose(eta[:2], [slope + intercept, intercept], rtol=1e-8)
  initial = metrics.logistic_4(pred, np.max(mos), np.min(mos), eta3, eta4)
  refined = metrics.logistic_4(pred, *eta)
  assert np.sum((refined - mos)**2) <= np.sum((initial - mos)**2)


def test_plcc_uses_the_fallback_curve_without_raising_when_the_fit_cannot_converge():
  pred, mos = noisy_monotone_data(7)
  with pytest.warns(RuntimeWarning, match="fit failed"):
    value = metrics.plcc(pred, mos, maxfev=1)
  with pytest.warns(RuntimeWarning, match="fit failed"):
    eta = metrics.fit_logistic(pred, mos, maxfev=1)
  want = scipy.stats.pearsonr(metrics.logistic_4(pred, *eta), mos).statistic
  assert value == pytest.approx(want, abs=1e-12)


@pytest.mark.parametrize("case", ["three_items", "two_distinct_preds", "huge_scale", "tiny_scale",
                                  "unrelated_mos", "anti_correlated"])
def test_evaluate_all_returns_finite_metrics_for_awkward_but_valid_inputs(case):
  rng = np.random.default_rng(8)
  base, mos = noisy_monotone_data(8, n=30)
  pred = {
      "three_items": base[:3],
      "two_distinct_preds": (base > 0).astype(float),
      "huge_scale": base * 1e8 + 1e9,
      "tiny_scale": base * 1e-8,
      "unrelated_mos": rng.normal(size=30),
      "anti_correlated": -base,
  }[case]
  mos = mos[:len(pred)]
  with warnings.catch_warnings():
    warnings.simplefilter("ignore", RuntimeWarning)  # a fallback fit is allowed here
    result = metrics.evaluate_all(pred, mos)
  assert set(result) == {"srcc", "krcc", "plcc", "rmse"}
  assert all(np.isfinite(v) for v in result.values()), result
  assert all(-1 - 1e-12 <= result[k] <= 1 + 1e-12 for k in ("srcc", "krcc", "plcc"))
  assert 0 <= result["rmse"] <= np.std(mos) * (1 + 1e-9) + 1e-9  # a fit is no worse than a constant


def test_plcc_of_a_flat_fitted_curve_is_reported_as_zero_not_nan():
  pred, mos = noisy_monotone_data(10)
  linear_cc, err = metrics._plcc_rmse(pred, mos, np.array([3.0, 3.0, 0.0, 1.0]))
  assert linear_cc == 0.0
  assert err == pytest.approx(np.sqrt(np.mean((mos - 3.0)**2)), rel=1e-12)


def test_evaluate_all_equals_the_individual_metrics():
  pred, mos = noisy_monotone_data(9)
  result = metrics.evaluate_all(pred, mos)
  assert result == pytest.approx({"srcc": metrics.srcc(pred, mos), "krcc": metrics.krcc(pred, mos),
                                  "plcc": metrics.plcc(pred, mos), "rmse": metrics.rmse(pred, mos)},
                                 abs=1e-12)
  assert all(type(v) is float for v in result.values())


# ---------------------------------------------------------------------------------------------
# Errors for people

ALL_METRICS = [metrics.srcc, metrics.krcc, metrics.plcc, metrics.rmse, metrics.fit_logistic,
               metrics.evaluate_all]


@pytest.mark.parametrize("fn", ALL_METRICS, ids=lambda f: f.__name__)
def test_every_metric_rejects_pred_and_mos_of_different_lengths(fn):
  with pytest.raises(ValueError, match="pred has 4 items but mos has 5"):
    fn([1, 2, 3, 4], [1, 2, 3, 4, 5])


@pytest.mark.parametrize("fn", ALL_METRICS, ids=lambda f: f.__name__)
def test_every_metric_rejects_fewer_than_three_items_and_names_the_minimum(fn):
  with pytest.raises(ValueError, match="at least 3 images.*got 2"):
    fn([1.0, 2.0], [2.0, 1.0])


@pytest.mark.parametrize("fn", ALL_METRICS, ids=lambda f: f.__name__)
def test_every_metric_rejects_nan_in_pred_with_count_and_indices(fn):
  pred = np.array([0.1, np.nan, 0.3, np.nan, 0.5, 0.6])
  with pytest.raises(ValueError, match=r"pred contains 2 non-finite value\(s\).*indices \[1, 3\]"):
    fn(pred, np.arange(6.0))


def test_non_finite_mos_error_lists_the_first_five_indices_and_how_many_more():
  mos = np.arange(20.0)
  mos[[2, 4, 6, 8, 10, 12, 14]] = np.inf
  with pytest.raises(ValueError,
                     match=r"mos contains 7 .*indices \[2, 4, 6, 8, 10, \.\.\. \(2 more\)\]"):
    metrics.srcc(np.arange(20.0), mos)


@pytest.mark.parametrize("fn", ALL_METRICS, ids=lambda f: f.__name__)
def test_every_metric_rejects_constant_predictions_saying_srcc_is_undefined(fn):
  with pytest.raises(ValueError, match="pred is constant.*SRCC.*undefined"):
    fn([0.5, 0.5, 0.5, 0.5], [1.0, 2.0, 3.0, 4.0])


def test_constant_mos_is_rejected_because_correlations_are_undefined():
  with pytest.raises(ValueError, match="mos is constant.*undefined"):
    metrics.plcc([1.0, 2.0, 3.0], [7.0, 7.0, 7.0])


def test_two_dimensional_input_is_rejected_with_its_shape():
  with pytest.raises(ValueError, match=r"pred must be a 1-D array \[N\].*\(4, 1\).*flatten"):
    metrics.srcc(np.zeros((4, 1)), np.arange(4.0))


def test_non_numeric_input_is_rejected_as_not_readable_as_float():
  with pytest.raises(ValueError, match="mos must be numeric"):
    metrics.krcc([1.0, 2.0, 3.0], ["good", "bad", "ugly"])

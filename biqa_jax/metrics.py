"""Evaluation metrics of method.md §4: SRCC, KRCC, PLCC and RMSE after the logistic fit.

Host-side NumPy/SciPy (not ``jit``): they run once per evaluation on ``[N]`` predictions.
Direction: ``pred`` and ``mos`` are both "higher = better"; a good model has SRCC, KRCC and
PLCC near +1 and RMSE near 0 (RMSE is on the MOS scale of the database).

* :func:`srcc`   Spearman rank correlation (``scipy.stats.spearmanr``; ties get average ranks).
* :func:`krcc`   Kendall rank correlation, tau-b (``scipy.stats.kendalltau``, ties corrected).
* :func:`logistic_4`, :func:`fit_logistic`   the 4-parameter logistic of paper Eq. 13 (the
  VQEG-style mapping used across IQA papers) and its least-squares fit.
* :func:`plcc`, :func:`rmse`   Pearson correlation / RMSE between the *fitted* ``f̂(pred)`` and MOS.
* :func:`evaluate_all`   all four from one fit.

Every function raises ``ValueError`` with a readable message for inputs on which the metrics
are undefined: different lengths, fewer than :data:`MIN_ITEMS` items, NaN/inf values, or a
constant ``pred`` / ``mos``.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.optimize
import scipy.special
import scipy.stats

MIN_ITEMS = 3
# Generous: the default for 4 parameters is 1000; a badly scaled test set can need more.
DEFAULT_MAXFEV = 20_000
_MAX_LISTED = 5


def _as_vector(x, name: str) -> np.ndarray:
  try:
    arr = np.asarray(x, dtype=np.float64)
  except (TypeError, ValueError) as err:
    raise ValueError(
        f"{name} must be numeric, got values that cannot be read as float ({err}).") from err
  if arr.ndim != 1:
    raise ValueError(
        f"{name} must be a 1-D array [N] of one score per image, got shape {arr.shape}"
        + ("; flatten it first (e.g. .reshape(-1))." if arr.size else "."))
  return arr


def _check_finite(arr: np.ndarray, name: str) -> None:
  bad = np.flatnonzero(~np.isfinite(arr))
  if bad.size:
    listed = ", ".join(str(i) for i in bad[:_MAX_LISTED])
    more = f", ... ({bad.size - _MAX_LISTED} more)" if bad.size > _MAX_LISTED else ""
    raise ValueError(
        f"{name} contains {bad.size} non-finite value(s) (NaN or inf) of {arr.size}, at "
        f"indices [{listed}{more}]; remove or fix those images before computing metrics.")


def _validate(pred, mos) -> tuple[np.ndarray, np.ndarray]:
  """``pred``, ``mos`` as float64 ``[N]`` arrays on which all metrics are defined."""
  pred, mos = _as_vector(pred, "pred"), _as_vector(mos, "mos")
  if pred.shape != mos.shape:
    raise ValueError(
        f"pred has {pred.size} items but mos has {mos.size}; they must be paired one score "
        f"per image, in the same order.")
  if pred.size < MIN_ITEMS:
    raise ValueError(
        f"need at least {MIN_ITEMS} images to compute correlation metrics, got {pred.size}.")
  _check_finite(pred, "pred")
  _check_finite(mos, "mos")
  if np.all(pred == pred[0]):
    raise ValueError(
        f"pred is constant (all {pred.size} values are {pred[0]!r}): SRCC, KRCC and PLCC are "
        f"undefined for constant predictions. A collapsed model output is the usual cause.")
  if np.all(mos == mos[0]):
    raise ValueError(
        f"mos is constant (all {mos.size} values are {mos[0]!r}): correlations are undefined; "
        f"check that the right MOS column was loaded.")
  return pred, mos


def srcc(pred, mos) -> float:
  """Spearman rank-order correlation between ``pred`` ``[N]`` and ``mos`` ``[N]``.

  Pearson correlation of the (average-tie) ranks, as ``scipy.stats.spearmanr``. Invariant to
  any strictly increasing transform of ``pred``, so no logistic fit is needed.
  """
  pred, mos = _validate(pred, mos)
  return float(scipy.stats.spearmanr(pred, mos).statistic)


def krcc(pred, mos) -> float:
  """Kendall rank-order correlation (tau-b) between ``pred`` ``[N]`` and ``mos`` ``[N]``.

  ``τ_b = (C − D) / sqrt((C + D + T_p)(C + D + T_m))`` over all pairs (C concordant,
  D discordant, T_p / T_m tied only in pred / only in mos), as ``scipy.stats.kendalltau``.
  """
  pred, mos = _validate(pred, mos)
  return float(scipy.stats.kendalltau(pred, mos, variant="b").statistic)


def logistic_4(f, eta1, eta2, eta3, eta4):
  """Four-parameter logistic mapping of paper Eq. 13.

  ``f̂ = (η1 − η2) / (1 + exp(−(f − η3) / |η4|)) + η2``

  increasing from η2 (as f → −∞) to η1 (as f → +∞) when η1 > η2, midpoint η3, slope scale |η4|
  (must be non-zero). Evaluated as ``(η1 − η2)·expit(·) + η2``, which is the same function
  without overflow warnings for large ``|f − η3|``.

  Args:
    f: ``[N]`` (or any shape) model predictions.
    eta1, eta2, eta3, eta4: scalars.

  Returns:
    ``f̂`` with the shape of ``f``, on the MOS scale.
  """
  f = np.asarray(f, dtype=np.float64)
  return (eta1 - eta2) * scipy.special.expit((f - eta3) / np.abs(eta4)) + eta2


def _initial_guess(pred: np.ndarray, mos: np.ndarray) -> np.ndarray:
  """method.md §4: η1 = max(MOS), η2 = min(MOS), η3 = mean(f), η4 = std(f)/4."""
  scale = np.std(pred) / 4.0
  if not np.isfinite(scale) or scale <= 0.0:
    # Unreachable after _validate (pred is not constant); kept so the guess is always usable.
    scale = 1.0
  return np.array([np.max(mos), np.min(mos), np.mean(pred), scale])


def _linear_refit(pred: np.ndarray, mos: np.ndarray, eta: np.ndarray) -> np.ndarray:
  """Keeps η3, η4 and solves η1, η2 by linear least squares (f̂ is linear in them)."""
  s = scipy.special.expit((pred - eta[2]) / np.abs(eta[3]))
  design = np.stack([s, 1.0 - s], axis=1)  # f̂ = η1·s + η2·(1 − s)
  (eta1, eta2), *_ = np.linalg.lstsq(design, mos, rcond=None)
  return np.array([eta1, eta2, eta[2], eta[3]])


def _logistic_4_jacobian(f, eta1, eta2, eta3, eta4):
  """``[N, 4]`` partial derivatives of :func:`logistic_4` with respect to (η1, η2, η3, η4)."""
  scale = np.abs(eta4)
  z = (f - eta3) / scale
  s = scipy.special.expit(z)
  slope = (eta1 - eta2) * s * (1.0 - s)
  return np.stack([s, 1.0 - s, -slope / scale, -slope * z / eta4], axis=1)


def _fit(pred: np.ndarray, mos: np.ndarray, maxfev: int) -> np.ndarray:
  p0 = _initial_guess(pred, mos)
  if pred.size < p0.size:
    reason = f"only {pred.size} points for {p0.size} parameters"
  else:
    try:
      with warnings.catch_warnings():
        # "Covariance of the parameters could not be estimated": only the point estimate is used.
        warnings.simplefilter("ignore", scipy.optimize.OptimizeWarning)
        # Analytic Jacobian: MINPACK's forward differences step by ~1.5e-8·|η|, which freezes η3
        # when it starts at mean(pred) ≈ 0 (zero-centred predictions) and stalls the fit.
        eta, _ = scipy.optimize.curve_fit(logistic_4, pred, mos, p0=p0, jac=_logistic_4_jacobian,
                                          maxfev=maxfev)
      if np.all(np.isfinite(eta)) and eta[3] != 0.0:
        return np.asarray(eta, dtype=np.float64)
      reason = f"it returned unusable parameters {eta}"
    except (RuntimeError, ValueError, FloatingPointError) as err:
      reason = str(err)
  warnings.warn(
      f"4-parameter logistic fit failed ({reason}); using the initial guess "
      f"(eta3 = mean(pred), eta4 = std(pred)/4) with eta1, eta2 refined by linear least "
      f"squares. PLCC/RMSE are then those of this fallback curve.",
      RuntimeWarning, stacklevel=3)
  return _linear_refit(pred, mos, p0)


def fit_logistic(pred, mos, maxfev: int = DEFAULT_MAXFEV) -> np.ndarray:
  """Least-squares fit of :func:`logistic_4` mapping ``pred`` ``[N]`` onto ``mos`` ``[N]``.

  ``scipy.optimize.curve_fit`` (Levenberg–Marquardt) from the common initialisation
  η1 = max(MOS), η2 = min(MOS), η3 = mean(pred), η4 = std(pred)/4 (method.md §4).

  The Jacobian is analytic (finite differences stall when mean(pred) ≈ 0, see ``_fit``).

  Fallback, never an exception for valid input: if the fit does not converge within ``maxfev``
  evaluations, returns non-finite values, or cannot be posed (3 items for 4 parameters), it
  emits a ``RuntimeWarning`` and returns the initial guess with η1, η2 replaced by their linear
  least-squares optimum for the fixed η3, η4 (the curve is linear in η1, η2): a monotone
  mapping at least as close to MOS as the initial guess.

  Returns:
    ``[4]`` float64 array ``(η1, η2, η3, η4)``; η4 may come back negative, only |η4| matters.
  """
  pred, mos = _validate(pred, mos)
  return _fit(pred, mos, maxfev)


def _plcc_rmse(pred: np.ndarray, mos: np.ndarray, eta: np.ndarray) -> tuple[float, float]:
  fitted = logistic_4(pred, *eta)
  err = float(np.sqrt(np.mean(np.square(fitted - mos))))
  if np.all(fitted == fitted[0]):
    # The best logistic is flat (pred carries no usable information about MOS): Pearson r is
    # 0/0. Reported as 0, "no linear relation", rather than NaN.
    return 0.0, err
  return float(scipy.stats.pearsonr(fitted, mos).statistic), err


def plcc(pred, mos, maxfev: int = DEFAULT_MAXFEV) -> float:
  """Pearson linear correlation between ``logistic_4(pred, *fit_logistic(pred, mos))`` and ``mos``.

  Both ``[N]``. A flat fitted curve gives 0.0 (see :func:`evaluate_all`); see
  :func:`fit_logistic` for the fallback when the fit fails.
  """
  pred, mos = _validate(pred, mos)
  return _plcc_rmse(pred, mos, _fit(pred, mos, maxfev))[0]


def rmse(pred, mos, maxfev: int = DEFAULT_MAXFEV) -> float:
  """Root-mean-square error between the fitted ``logistic_4(pred, …)`` and ``mos`` (MOS units)."""
  pred, mos = _validate(pred, mos)
  return _plcc_rmse(pred, mos, _fit(pred, mos, maxfev))[1]


def evaluate_all(pred, mos, maxfev: int = DEFAULT_MAXFEV) -> dict[str, float]:
  """All §4 metrics from one validation and one logistic fit.

  Args:
    pred: ``[N]`` model predictions (higher = better).
    mos: ``[N]`` mean opinion scores (higher = better).
    maxfev: evaluation budget of the logistic fit.

  Returns:
    ``{"srcc": …, "krcc": …, "plcc": …, "rmse": …}`` as Python floats. If the fitted logistic
    is flat (``pred`` carries no usable information about MOS), Pearson r would be 0/0;
    ``plcc`` is then reported as 0.0 rather than NaN.
  """
  pred, mos = _validate(pred, mos)
  linear_cc, err = _plcc_rmse(pred, mos, _fit(pred, mos, maxfev))
  return {
      "srcc": float(scipy.stats.spearmanr(pred, mos).statistic),
      "krcc": float(scipy.stats.kendalltau(pred, mos, variant="b").statistic),
      "plcc": linear_cc,
      "rmse": err,
  }

"""Pairwise probabilities and training losses (method.md §2 and §3).

All functions are pure, ``jit``-able and element-wise: every argument broadcasts against the
others over any leading shape, so one call handles a batch of pairs (``[B]``, ``[B, K]``, …)
without ``vmap``. Integer or float32 inputs give float32 results; float64 inputs stay float64
when ``jax_enable_x64`` is on (the tests use this for gradient checks).

Conventions (paper's): scores are "higher = better"; a pair is ``(x, y)``; every probability is
the probability that ``x`` is of *better* quality than ``y``.

* :func:`thurstone_prob`   model probability ``p_w = Φ((f(x) − f(y)) / √2)`` (Thurstone Case V).
* :func:`label_prob`       Stage-2 ground truth ``p = Φ((μx − μy) / sqrt(σx² + σy²))`` (Eq. 7).
* :func:`fidelity_loss`    Stage-2 loss ``1 − sqrt(p·g) − sqrt((1 − p)(1 − g))`` (Eq. 8).
* :func:`annotator_nll`    Stage-1 multi-annotator negative log-likelihood (Eq. 6).

Input validation (NaN labels, negative stds, label values outside {0, 1}) belongs to the data
code, outside ``jit``; these functions only check static shapes.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from jax.scipy.special import log_ndtr, ndtr

Array = jax.Array

# The authors' code adds this inside both square roots of the fidelity loss.
FIDELITY_EPS = 1e-8
# Initial annotator reliability: the paper's MLE starts every FR "annotator" as fairly reliable.
RELIABILITY_INIT = 0.9

_SQRT2 = math.sqrt(2.0)


def _as_float(*xs):
  """Casts to a common floating dtype, at least float32 (ints and bools become float32)."""
  dtype = jnp.promote_types(jnp.result_type(*xs), jnp.float32)
  return tuple(jnp.asarray(x, dtype) for x in xs)


def thurstone_prob(f_x: Array, f_y: Array) -> Array:
  """Thurstone Case V probability that ``x`` is better than ``y`` (method.md §2).

  ``p_w(x, y) = Φ((f_x − f_y) / √2)``: each quality score is the mean of a unit-variance
  Gaussian, so the difference has variance 2. Higher ``f`` = better; ``p_w(x, y) +
  p_w(y, x) = 1`` and ``p_w(x, x) = 1/2``.

  Args:
    f_x: ``[...]`` model scores of the first images.
    f_y: ``[...]`` model scores of the second images (broadcasts against ``f_x``).

  Returns:
    ``[...]`` probabilities in [0, 1], same float dtype as the inputs (at least float32).
  """
  f_x, f_y = _as_float(f_x, f_y)
  return ndtr((f_x - f_y) / _SQRT2)


def label_prob(mu_x: Array, mu_y: Array, std_x: Array, std_y: Array) -> Array:
  """Ground-truth probability that ``x`` is better than ``y`` from MOS (paper Eq. 7).

  ``p(x, y) = Φ((μx − μy) / sqrt(σx² + σy²))`` with μ the MOS (higher = better) and σ its
  standard deviation, both on the database's own scale (σ ≥ 0).

  When ``σx = σy = 0`` the ratio is undefined; the limit is used instead: 1 if ``μx > μy``,
  1/2 if ``μx = μy`` (so a self-pair gives 1/2) and 0 if ``μx < μy``. The square root is taken
  of a "safe" variance on that branch (the double-``where`` trick), so neither the value nor
  the gradient is NaN there; the gradient on that branch is 0 (a step function).

  Args:
    mu_x, mu_y: ``[...]`` MOS of the first / second images.
    std_x, std_y: ``[...]`` MOS standard deviations, ≥ 0. All four broadcast together.

  Returns:
    ``[...]`` label probabilities in [0, 1].
  """
  mu_x, mu_y, std_x, std_y = _as_float(mu_x, mu_y, std_x, std_y)
  diff = mu_x - mu_y
  var = jnp.square(std_x) + jnp.square(std_y)
  deterministic = var == 0
  safe_var = jnp.where(deterministic, jnp.ones_like(var), var)
  prob = ndtr(diff / jnp.sqrt(safe_var))
  step = 0.5 * (1.0 + jnp.sign(diff))
  return jnp.where(deterministic, step, prob)


def fidelity_loss(p: Array, g: Array, eps: float = FIDELITY_EPS) -> Array:
  """Per-pair fidelity loss (paper Eq. 8), with ε inside the square roots as in the authors' code.

  ``ℓ(p, g) = 1 − sqrt(p·g + ε) − sqrt((1 − p)(1 − g) + ε)``

  where ``p`` is the model probability (:func:`thurstone_prob`) and ``g`` the ground-truth
  label probability (:func:`label_prob`). Lower = better. Symmetric in its arguments and under
  ``(p, g) → (1 − p, 1 − g)``.

  With ``ε = 0`` this is Eq. 8 exactly: ℓ ∈ [0, 1], zero iff ``p = g``. The ε keeps the
  gradient finite at ``p ∈ {0, 1}`` (it is at most ``1 / (2√ε)`` in size) but shifts the range to
  ``[−2√ε, 1 − 2√ε]``: the value at ``p = g`` is slightly *negative*, e.g. about ``−2ε`` at
  1/2 and about ``−√ε`` (−1e-4 for the default) at ``p = g ∈ {0, 1}``. No clamping is done:
  the value at ``p = g`` is what the formula gives. The gradient in ``p`` at ``p = g`` is
  ``O(ε / min(g, 1 − g)²)`` rather than 0 (exactly 0 at ``g = 1/2``), so the minimiser sits
  within a negligible distance of ``g``.

  Args:
    p: ``[...]`` model probabilities in [0, 1].
    g: ``[...]`` label probabilities in [0, 1] (broadcasts against ``p``).
    eps: the ε above; 0 gives the paper's formula unchanged (gradient infinite at 0 and 1).

  Returns:
    ``[...]`` per-pair losses; the Stage-2 objective (Eq. 9) is their mean.
  """
  p, g = _as_float(p, g)
  return 1.0 - jnp.sqrt(p * g + eps) - jnp.sqrt((1.0 - p) * (1.0 - g) + eps)


def mean_fidelity(p: Array, g: Array, mask: Array | None = None,
                  eps: float = FIDELITY_EPS) -> Array:
  """Mean fidelity loss over pairs (paper Eq. 9), optionally over the pairs where ``mask`` is set.

  Args:
    p, g: ``[...]`` as in :func:`fidelity_loss`.
    mask: optional ``[...]`` bool or {0, 1}; 1 = a real pair, 0 = padding. With no real pair
      the result is 0.
    eps: see :func:`fidelity_loss`.

  Returns:
    scalar.
  """
  losses = fidelity_loss(p, g, eps)
  if mask is None:
    return jnp.mean(losses)
  present = jnp.broadcast_to(jnp.asarray(mask) != 0, losses.shape)
  total = jnp.sum(jnp.where(present, losses, 0.0))
  return total / jnp.maximum(jnp.sum(present), 1).astype(losses.dtype)


def reliability_init_logit(p: float = RELIABILITY_INIT) -> float:
  """``logit(p) = log(p / (1 − p))``: the value to initialise ``alpha_logit``/``beta_logit`` with.

  E.g. ``jnp.full((num_annotators,), reliability_init_logit())`` starts every annotator at
  α = β = 0.9.
  """
  if not 0.0 < p < 1.0:
    raise ValueError(
        f"reliability_init_logit needs a probability strictly between 0 and 1, got {p!r}; "
        f"an annotator reliability of 0 or 1 has an infinite logit (the usual start is "
        f"{RELIABILITY_INIT}).")
  return math.log(p) - math.log1p(-p)


def reliabilities(alpha_logit: Array, beta_logit: Array) -> tuple[Array, Array]:
  """Annotator reliabilities ``(α, β) = (sigmoid(alpha_logit), sigmoid(beta_logit))``.

  ``α_j = Pr(q_j = 1 | q = 1)`` (sensitivity), ``β_j = Pr(q_j = 0 | q = 0)`` (specificity).

  Args:
    alpha_logit, beta_logit: ``[J]``.

  Returns:
    ``(alpha, beta)``, each ``[J]`` in (0, 1).
  """
  alpha_logit, beta_logit = _as_float(alpha_logit, beta_logit)
  return jax.nn.sigmoid(alpha_logit), jax.nn.sigmoid(beta_logit)


def annotator_nll(f_x: Array, f_y: Array, labels: Array, alpha_logit: Array,
                  beta_logit: Array, mask: Array | None = None) -> Array:
  """Stage-1 multi-annotator negative log-likelihood per pair (paper Eq. 6, method.md §2).

  With ``p_w = Φ((f_x − f_y)/√2)`` (:func:`thurstone_prob`), ``α = sigmoid(alpha_logit)``,
  ``β = sigmoid(beta_logit)`` and the binary labels ``q_j`` of the J annotators (FR models;
  ``q_j = 1``: annotator j prefers ``x``), the likelihood of one pair is

  ``L = p_w · Π_j α_j^{q_j} (1 − α_j)^{1 − q_j} + (1 − p_w) · Π_j β_j^{1 − q_j} (1 − β_j)^{q_j}``

  (true label q = 1, resp. q = 0, marginalised out). Returned is ``−log L``; Stage 1 minimises
  its mean jointly over the network and the logits (the paper's joint gradient ascent on
  ``Σ log L``; the EM variant of the earlier work is not implemented).

  Everything is computed in log space, ``log L = logaddexp(log Φ(d) + A, log Φ(−d) + B)`` with
  ``A = Σ_j log α_j^{q_j} (1 − α_j)^{1 − q_j}`` etc. via ``log_ndtr`` and ``log_sigmoid``, so the
  value and its gradient stay finite for ``|f_x − f_y|`` up to ~1e3 and logits up to ±50 in
  float32, where the literal products underflow.

  Args:
    f_x, f_y: ``[...]`` model scores of the two images.
    labels: ``[..., J]`` annotator labels in {0, 1} (bool or numeric).
    alpha_logit, beta_logit: ``[J]`` annotator reliability logits.
    mask: optional ``[..., J]`` bool or {0, 1}; 1 = label present. A missing label is left out
      of both products (its value is ignored, even NaN). A pair with no label at all has
      ``L = 1`` and contributes 0.

  Returns:
    ``[...]`` per-pair negative log-likelihoods (the broadcast of ``f_x``, ``f_y`` and the
    leading shape of ``labels``/``mask``).

  Raises:
    ValueError: (at trace time) if the annotator axes of ``labels``, ``alpha_logit``,
      ``beta_logit`` and ``mask`` disagree.
  """
  f_x, f_y, alpha_logit, beta_logit = _as_float(f_x, f_y, alpha_logit, beta_logit)
  labels = jnp.asarray(labels)
  if labels.ndim == 0:
    raise ValueError("annotator_nll: labels must have a trailing annotator axis [..., J], "
                     "got a scalar.")
  num_annotators = labels.shape[-1]
  for name, logit in (("alpha_logit", alpha_logit), ("beta_logit", beta_logit)):
    if logit.shape != (num_annotators,):
      raise ValueError(
          f"annotator_nll: {name} must have shape [J] = ({num_annotators},) to match the "
          f"last axis of labels {labels.shape}, got {logit.shape}. One logit per FR annotator.")
  if mask is None:
    present = jnp.ones(labels.shape, bool)
  else:
    mask = jnp.asarray(mask)
    if mask.ndim == 0 or mask.shape[-1] != num_annotators:
      raise ValueError(
          f"annotator_nll: mask must be [..., J] with J = {num_annotators} like labels "
          f"{labels.shape}, got {mask.shape}.")
    present = mask != 0
  # Missing labels may hold anything (NaN padding): zero them before they touch a product so
  # that neither the value nor the gradient sees them.
  q = jnp.where(present, labels.astype(f_x.dtype), 0.0)
  not_q = jnp.where(present, 1.0 - q, 0.0)

  log_alpha, log_1m_alpha = jax.nn.log_sigmoid(alpha_logit), jax.nn.log_sigmoid(-alpha_logit)
  log_beta, log_1m_beta = jax.nn.log_sigmoid(beta_logit), jax.nn.log_sigmoid(-beta_logit)
  # log Π_j α_j^{q_j} (1 − α_j)^{1 − q_j}   (true label q = 1: x is better)
  log_given_x_better = jnp.sum(q * log_alpha + not_q * log_1m_alpha, axis=-1)
  # log Π_j β_j^{1 − q_j} (1 − β_j)^{q_j}   (true label q = 0: y is better)
  log_given_y_better = jnp.sum(not_q * log_beta + q * log_1m_beta, axis=-1)

  d = (f_x - f_y) / _SQRT2
  log_lik = jnp.logaddexp(log_ndtr(d) + log_given_x_better,
                          log_ndtr(-d) + log_given_y_better)
  return -log_lik

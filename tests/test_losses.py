"""biqa_jax.losses against independent float64 NumPy/SciPy computations (method.md §2, §3)."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.special
import scipy.stats
from jax.test_util import check_grads

from biqa_jax import losses

SQRT2 = math.sqrt(2.0)
EPS = losses.FIDELITY_EPS


# ---------------------------------------------------------------------------------------------
# Independent references: literal formulas, float64, Python loops over pairs and annotators.


def brute_force_nll(f_x, f_y, labels, alpha_logit, beta_logit, mask=None):
  """−log L of Eq. 6 by the literal product formula (no log space), float64."""
  f_x, f_y = np.asarray(f_x, np.float64), np.asarray(f_y, np.float64)
  labels = np.asarray(labels, np.float64)
  alpha_logit = np.asarray(alpha_logit, np.float64)
  beta_logit = np.asarray(beta_logit, np.float64)
  # expit(-l) instead of 1 - expit(l) so that 1 − α stays representable for logits near 50.
  alpha, one_minus_alpha = scipy.special.expit(alpha_logit), scipy.special.expit(-alpha_logit)
  beta, one_minus_beta = scipy.special.expit(beta_logit), scipy.special.expit(-beta_logit)
  out = np.empty(len(f_x))
  for i in range(len(f_x)):
    d = (f_x[i] - f_y[i]) / SQRT2
    p_w, one_minus_p_w = scipy.stats.norm.cdf(d), scipy.stats.norm.cdf(-d)
    given_x_better, given_y_better = 1.0, 1.0
    for j in range(labels.shape[1]):
      if mask is not None and not mask[i, j]:
        continue
      q = labels[i, j]
      given_x_better *= alpha[j]**q * one_minus_alpha[j]**(1 - q)
      given_y_better *= beta[j]**(1 - q) * one_minus_beta[j]**q
    out[i] = -math.log(p_w * given_x_better + one_minus_p_w * given_y_better)
  return out


def numpy_fidelity(p, g, eps=EPS):
  p, g = np.asarray(p, np.float64), np.asarray(g, np.float64)
  return 1.0 - np.sqrt(p * g + eps) - np.sqrt((1.0 - p) * (1.0 - g) + eps)


def f32(x):
  """Rounds to float32 and back, so references see exactly what the float32 code sees."""
  return np.asarray(x, np.float32).astype(np.float64)


def random_stage1_batch(rng, num_pairs=32, num_annotators=6, score_range=3.0, logit_range=4.0):
  f_x = f32(rng.uniform(-score_range, score_range, num_pairs))
  f_y = f32(rng.uniform(-score_range, score_range, num_pairs))
  labels = rng.integers(0, 2, (num_pairs, num_annotators)).astype(np.float64)
  alpha_logit = f32(rng.uniform(-logit_range, logit_range, num_annotators))
  beta_logit = f32(rng.uniform(-logit_range, logit_range, num_annotators))
  return f_x, f_y, labels, alpha_logit, beta_logit


# The tests call the jitted functions: eager JAX compiles every primitive separately, which is
# ~10x slower here. test_losses_under_jit_equal_eager_evaluation checks both paths agree.
thurstone_prob = jax.jit(losses.thurstone_prob)
label_prob = jax.jit(losses.label_prob)
fidelity_loss = jax.jit(losses.fidelity_loss)
mean_fidelity = jax.jit(losses.mean_fidelity)
annotator_nll = jax.jit(losses.annotator_nll)


# ---------------------------------------------------------------------------------------------
# thurstone_prob


def test_thurstone_prob_matches_scipy_norm_cdf_of_difference_over_sqrt2():
  rng = np.random.default_rng(0)
  f_x, f_y = f32(rng.normal(0, 3, 200)), f32(rng.normal(0, 3, 200))
  got = np.asarray(thurstone_prob(f_x, f_y))
  np.testing.assert_allclose(got, scipy.stats.norm.cdf((f_x - f_y) / SQRT2), rtol=1e-5, atol=1e-7)


def test_thurstone_prob_is_antisymmetric_and_one_half_on_self_pairs():
  rng = np.random.default_rng(1)
  f_x, f_y = rng.normal(0, 2, 50), rng.normal(0, 2, 50)
  forward = np.asarray(thurstone_prob(f_x, f_y))
  backward = np.asarray(thurstone_prob(f_y, f_x))
  np.testing.assert_allclose(forward + backward, 1.0, atol=1e-6)
  np.testing.assert_array_equal(np.asarray(thurstone_prob(f_x, f_x)), 0.5)


def test_thurstone_prob_gives_float32_for_integer_scores():
  p = thurstone_prob(jnp.array([3, 1]), jnp.array([1, 3]))
  assert p.dtype == jnp.float32
  np.testing.assert_allclose(np.asarray(p), scipy.stats.norm.cdf([SQRT2, -SQRT2]), rtol=1e-6)


def test_thurstone_prob_gradients_match_finite_differences_in_float64():
  with jax.enable_x64(True):
    check_grads(thurstone_prob, (jnp.array([0.3, -1.2, 2.0]), jnp.array([0.1, 0.5, -1.0])),
                order=1, modes=("fwd", "rev"))


# ---------------------------------------------------------------------------------------------
# label_prob


def test_label_prob_matches_eq7_with_scipy_norm_cdf():
  rng = np.random.default_rng(2)
  mu_x, mu_y = f32(rng.uniform(0, 100, 200)), f32(rng.uniform(0, 100, 200))
  std_x, std_y = f32(rng.uniform(0.5, 20, 200)), f32(rng.uniform(0.5, 20, 200))
  want = scipy.stats.norm.cdf((mu_x - mu_y) / np.sqrt(std_x**2 + std_y**2))
  got = np.asarray(label_prob(mu_x, mu_y, std_x, std_y))
  np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_label_prob_of_a_self_pair_is_one_half_with_and_without_std():
  mu, std = jnp.array([10.0, 42.5, 0.0]), jnp.array([3.0, 0.0, 0.0])
  np.testing.assert_array_equal(np.asarray(label_prob(mu, mu, std, std)), 0.5)


def test_label_prob_with_both_stds_zero_is_the_sign_step_without_nan():
  mu_x, mu_y = jnp.array([5.0, 5.0, 5.0]), jnp.array([4.0, 5.0, 6.0])
  zeros = jnp.zeros(3)
  np.testing.assert_array_equal(np.asarray(label_prob(mu_x, mu_y, zeros, zeros)),
                                [1.0, 0.5, 0.0])


def test_label_prob_with_one_std_zero_uses_the_other_std_only():
  got = label_prob(jnp.array([3.0, 1.0]), jnp.array([1.0, 3.0]), jnp.zeros(2),
                          jnp.array([2.0, 0.5]))
  np.testing.assert_allclose(np.asarray(got), scipy.stats.norm.cdf([1.0, -4.0]), rtol=1e-5)


def test_label_prob_gradient_is_finite_and_zero_when_both_stds_are_zero():
  # Without the double-where, d sqrt(var)/d var = inf at var = 0 and the masked branch gives NaN.
  def total(mu_x, mu_y, std_x, std_y):
    return jnp.sum(label_prob(mu_x, mu_y, std_x, std_y))

  args = (jnp.array([5.0, 5.0, 5.0]), jnp.array([4.0, 5.0, 6.0]), jnp.zeros(3), jnp.zeros(3))
  grads = jax.jit(jax.grad(total, argnums=(0, 1, 2, 3)))(*args)
  for grad in grads:
    assert np.all(np.isfinite(np.asarray(grad)))
    np.testing.assert_array_equal(np.asarray(grad), 0.0)


def test_label_prob_gradients_match_finite_differences_in_float64_for_positive_stds():
  with jax.enable_x64(True):
    args = (jnp.array([60.0, 40.0]), jnp.array([55.0, 48.0]), jnp.array([8.0, 3.0]),
            jnp.array([5.0, 6.0]))
    check_grads(label_prob, args, order=1, modes=("fwd", "rev"))


# ---------------------------------------------------------------------------------------------
# fidelity_loss / mean_fidelity


def test_fidelity_loss_matches_eq8_with_eps_inside_the_square_roots():
  rng = np.random.default_rng(3)
  p, g = f32(rng.uniform(0, 1, 500)), f32(rng.uniform(0, 1, 500))
  np.testing.assert_allclose(np.asarray(fidelity_loss(p, g)), numpy_fidelity(p, g),
                             atol=2e-7)


def test_fidelity_loss_at_p_equal_g_is_exactly_the_formula_value_slightly_below_zero():
  g = np.array([0.0, 1e-3, 0.2, 0.5, 0.9, 1.0])
  with jax.enable_x64(True):
    got = np.asarray(fidelity_loss(jnp.asarray(g), jnp.asarray(g)))
  np.testing.assert_allclose(got, numpy_fidelity(g, g), rtol=0, atol=1e-15)
  assert np.all(got <= 0.0) and np.all(got >= -2 * math.sqrt(EPS))
  np.testing.assert_allclose(got[[0, -1]], -math.sqrt(EPS), rtol=1e-3)  # the corners: −√ε


def test_fidelity_loss_without_eps_is_zero_iff_p_equals_g():
  grid = np.linspace(0, 1, 21)
  p, g = np.meshgrid(grid, grid)
  with jax.enable_x64(True):
    loss = np.asarray(fidelity_loss(jnp.asarray(p), jnp.asarray(g), eps=0.0))
  np.testing.assert_allclose(np.diag(loss), 0.0, atol=1e-15)
  assert np.all(loss[~np.eye(21, dtype=bool)] > 1e-6)
  assert np.all(loss <= 1.0)


def test_fidelity_loss_stays_within_minus_two_sqrt_eps_and_one_minus_two_sqrt_eps():
  grid = np.linspace(0, 1, 101)
  p, g = np.meshgrid(grid, grid)
  with jax.enable_x64(True):
    loss = np.asarray(fidelity_loss(jnp.asarray(p), jnp.asarray(g)))
  assert loss.min() >= -2 * math.sqrt(EPS)
  assert loss.max() <= 1 - 2 * math.sqrt(EPS) + 1e-15
  np.testing.assert_allclose(loss.max(), 1 - 2 * math.sqrt(EPS), atol=1e-12)  # at (0, 1), (1, 0)


def test_fidelity_loss_in_p_is_minimised_at_p_equal_g():
  p = np.linspace(0, 1, 201)
  for g in (0.05, 0.3, 0.5, 0.85):
    loss = np.asarray(fidelity_loss(p, g))
    assert p[np.argmin(loss)] == pytest.approx(g, abs=1e-9)


def test_fidelity_loss_is_symmetric_under_complement_and_argument_swap():
  rng = np.random.default_rng(4)
  p, g = rng.uniform(0, 1, 300), rng.uniform(0, 1, 300)
  with jax.enable_x64(True):
    base = np.asarray(fidelity_loss(p, g))
    complement = np.asarray(fidelity_loss(1 - p, 1 - g))
    swapped = np.asarray(fidelity_loss(g, p))
  np.testing.assert_allclose(base, complement, atol=1e-15)
  np.testing.assert_array_equal(base, swapped)


def test_fidelity_loss_gradient_is_finite_at_probabilities_zero_and_one_only_with_eps():
  corners = (jnp.array([0.0, 0.0, 1.0, 1.0]), jnp.array([0.0, 1.0, 0.0, 1.0]))
  grad = jax.jit(jax.grad(lambda p, g: jnp.sum(fidelity_loss(p, g)), argnums=(0, 1)))(*corners)
  for part in grad:
    assert np.all(np.isfinite(np.asarray(part)))
    assert np.all(np.abs(np.asarray(part)) <= 1 / (2 * math.sqrt(EPS)) * 1.001)
  no_eps = jax.jit(jax.grad(lambda p, g: jnp.sum(fidelity_loss(p, g, eps=0.0))))(*corners)
  assert not np.all(np.isfinite(np.asarray(no_eps)))  # why the ε is there


def test_fidelity_loss_gradients_match_finite_differences_in_float64():
  with jax.enable_x64(True):
    check_grads(fidelity_loss, (jnp.array([0.2, 0.7, 0.5]), jnp.array([0.6, 0.1, 0.5])),
                order=1, modes=("fwd", "rev"))


def test_mean_fidelity_is_the_mean_over_all_or_over_masked_pairs():
  rng = np.random.default_rng(5)
  p, g = f32(rng.uniform(0, 1, 10)), f32(rng.uniform(0, 1, 10))
  mask = np.arange(10) < 6
  per_pair = numpy_fidelity(p, g)
  assert float(mean_fidelity(p, g)) == pytest.approx(per_pair.mean(), abs=1e-7)
  assert float(mean_fidelity(p, g, mask)) == pytest.approx(per_pair[:6].mean(), abs=1e-7)
  assert float(mean_fidelity(p, g, np.zeros(10, bool))) == 0.0


# ---------------------------------------------------------------------------------------------
# reliabilities


def test_reliability_init_logit_is_the_logit_of_its_argument():
  for p in (0.9, 0.5, 0.01):
    assert scipy.special.expit(losses.reliability_init_logit(p)) == pytest.approx(p, rel=1e-12)
  assert losses.reliability_init_logit() == pytest.approx(math.log(9.0), rel=1e-12)


@pytest.mark.parametrize("bad", [0.0, 1.0, 1.5, -0.1])
def test_reliability_init_logit_rejects_probabilities_outside_the_open_unit_interval(bad):
  with pytest.raises(ValueError, match="strictly between 0 and 1"):
    losses.reliability_init_logit(bad)


def test_reliabilities_are_the_sigmoids_of_the_logits():
  alpha_logit, beta_logit = np.array([-3.0, 0.0, 2.2]), np.array([1.0, 50.0, -50.0])
  alpha, beta = losses.reliabilities(alpha_logit, beta_logit)
  np.testing.assert_allclose(np.asarray(alpha), scipy.special.expit(alpha_logit), rtol=1e-6)
  np.testing.assert_allclose(np.asarray(beta), scipy.special.expit(beta_logit), rtol=1e-6)


# ---------------------------------------------------------------------------------------------
# annotator_nll


def test_annotator_nll_matches_the_literal_product_likelihood_of_eq6():
  f_x, f_y, labels, alpha_logit, beta_logit = random_stage1_batch(np.random.default_rng(6))
  got = np.asarray(annotator_nll(f_x, f_y, labels, alpha_logit, beta_logit))
  assert got.shape == (32,) and got.dtype == np.float32
  np.testing.assert_allclose(got, brute_force_nll(f_x, f_y, labels, alpha_logit, beta_logit),
                             rtol=1e-5, atol=1e-6)


def test_annotator_nll_matches_brute_force_to_float64_precision_with_x64():
  f_x, f_y, labels, alpha_logit, beta_logit = random_stage1_batch(np.random.default_rng(7))
  with jax.enable_x64(True):
    got = np.asarray(annotator_nll(f_x, f_y, labels, alpha_logit, beta_logit))
  assert got.dtype == np.float64
  np.testing.assert_allclose(got, brute_force_nll(f_x, f_y, labels, alpha_logit, beta_logit),
                             rtol=1e-12)


def test_annotator_nll_matches_brute_force_for_large_gaps_and_logits_where_representable():
  # |f_x − f_y| ≤ 40 and logits ±50: the products reach ~1e-260 but stay above float64's
  # underflow, so the literal formula is still a valid reference.
  rng = np.random.default_rng(8)
  f_x, f_y, labels, _, _ = random_stage1_batch(rng, num_pairs=64, num_annotators=4,
                                               score_range=20.0)
  alpha_logit = f32(rng.choice([-50.0, 50.0], 4) * rng.uniform(0.5, 1.0, 4))
  beta_logit = f32(rng.choice([-50.0, 50.0], 4) * rng.uniform(0.5, 1.0, 4))
  want = brute_force_nll(f_x, f_y, labels, alpha_logit, beta_logit)
  assert np.all(np.isfinite(want)) and want.max() > 100  # the check reaches the hard region
  got = np.asarray(annotator_nll(f_x, f_y, labels, alpha_logit, beta_logit))
  np.testing.assert_allclose(got, want, rtol=2e-5, atol=1e-5)


def test_annotator_nll_is_finite_with_finite_gradients_for_gaps_of_1e3_and_logits_of_50():
  f_x = jnp.array([500.0, -500.0, 500.0, -500.0, 0.0])
  f_y = -f_x
  labels = jnp.array([[0, 0, 0], [1, 1, 1], [1, 0, 1], [0, 1, 0], [1, 1, 0]], jnp.float32)
  alpha_logit, beta_logit = jnp.array([50.0, -50.0, 50.0]), jnp.array([-50.0, 50.0, 50.0])

  def total(f_x, f_y, a, b):
    return jnp.sum(annotator_nll(f_x, f_y, labels, a, b))

  value = annotator_nll(f_x, f_y, labels, alpha_logit, beta_logit)
  assert np.all(np.isfinite(np.asarray(value)))
  for grad in jax.jit(jax.grad(total, argnums=(0, 1, 2, 3)))(f_x, f_y, alpha_logit, beta_logit):
    assert np.all(np.isfinite(np.asarray(grad)))


def test_annotator_nll_for_a_huge_gap_equals_the_dominant_branch():
  # f_x − f_y = 1e3: log Φ(−d) ≈ −2.5e5, so only the "x better" product survives. Its log is
  # computed here by hand: labels all 0 against α = sigmoid(50) costs J·log(1 + e^50) ≈ 50·J.
  num_annotators = 6
  labels = jnp.zeros((1, num_annotators))
  alpha_logit = jnp.full((num_annotators,), 50.0)
  beta_logit = jnp.full((num_annotators,), losses.reliability_init_logit())
  got = annotator_nll(jnp.array([500.0]), jnp.array([-500.0]), labels, alpha_logit,
                             beta_logit)
  want = num_annotators * np.logaddexp(0.0, 50.0)
  np.testing.assert_allclose(np.asarray(got), [want], rtol=1e-6)
  # Mirror image: y far better, all annotators prefer x while β = sigmoid(50).
  got = annotator_nll(jnp.array([-500.0]), jnp.array([500.0]), 1 - labels, beta_logit,
                             alpha_logit)
  np.testing.assert_allclose(np.asarray(got), [want], rtol=1e-6)


def test_annotator_nll_gradients_match_central_differences_of_the_brute_force():
  f_x, f_y, labels, alpha_logit, beta_logit = random_stage1_batch(np.random.default_rng(9),
                                                                  num_pairs=8, num_annotators=4)
  args = [f_x, f_y, alpha_logit, beta_logit]

  def brute_total(a):
    return brute_force_nll(a[0], a[1], labels, a[2], a[3]).sum()

  with jax.enable_x64(True):
    grads = jax.jit(jax.grad(
        lambda fx, fy, al, bl: jnp.sum(annotator_nll(fx, fy, labels, al, bl)),
        argnums=(0, 1, 2, 3)))(*map(jnp.asarray, args))
  step = 1e-6
  for which, grad in enumerate(grads):
    numeric = np.zeros_like(args[which])
    for k in range(args[which].size):
      plus = [a.copy() for a in args]
      minus = [a.copy() for a in args]
      plus[which][k] += step
      minus[which][k] -= step
      numeric[k] = (brute_total(plus) - brute_total(minus)) / (2 * step)
    np.testing.assert_allclose(np.asarray(grad), numeric, rtol=1e-6, atol=1e-8)


def test_annotator_nll_passes_jax_check_grads_in_float64():
  f_x, f_y, labels, alpha_logit, beta_logit = random_stage1_batch(np.random.default_rng(10),
                                                                  num_pairs=8, num_annotators=4)
  with jax.enable_x64(True):
    check_grads(lambda fx, fy, al, bl: annotator_nll(fx, fy, labels, al, bl),
                tuple(map(jnp.asarray, (f_x, f_y, alpha_logit, beta_logit))), order=1,
                modes=("fwd", "rev"))


def test_annotator_nll_masking_an_annotator_equals_removing_its_column():
  f_x, f_y, labels, alpha_logit, beta_logit = random_stage1_batch(np.random.default_rng(11))
  mask = np.ones_like(labels)
  mask[:, 2] = 0
  keep = [0, 1, 3, 4, 5]
  masked = np.asarray(annotator_nll(f_x, f_y, labels, alpha_logit, beta_logit, mask))
  removed = np.asarray(annotator_nll(f_x, f_y, labels[:, keep], alpha_logit[keep],
                                            beta_logit[keep]))
  np.testing.assert_allclose(masked, removed, rtol=1e-6)
  full = np.asarray(annotator_nll(f_x, f_y, labels, alpha_logit, beta_logit))
  assert not np.allclose(masked, full)  # the column did matter


def test_annotator_nll_with_a_ragged_mask_matches_brute_force_skipping_missing_labels():
  rng = np.random.default_rng(12)
  f_x, f_y, labels, alpha_logit, beta_logit = random_stage1_batch(rng)
  mask = rng.uniform(size=labels.shape) < 0.7
  got = np.asarray(annotator_nll(f_x, f_y, labels, alpha_logit, beta_logit, mask))
  np.testing.assert_allclose(got, brute_force_nll(f_x, f_y, labels, alpha_logit, beta_logit, mask),
                             rtol=1e-5, atol=1e-6)


def test_annotator_nll_ignores_nan_in_masked_labels_in_value_and_gradient():
  rng = np.random.default_rng(13)
  f_x, f_y, labels, alpha_logit, beta_logit = random_stage1_batch(rng)
  mask = rng.uniform(size=labels.shape) < 0.6
  padded = np.where(mask, labels, np.nan)

  def total(fx, lab, al, bl):
    return jnp.sum(annotator_nll(fx, f_y, lab, al, bl, mask))

  value_and_grad = jax.jit(jax.value_and_grad(total, argnums=(0, 2, 3)))
  clean = value_and_grad(f_x, labels, alpha_logit, beta_logit)
  dirty = value_and_grad(f_x, padded, alpha_logit, beta_logit)
  np.testing.assert_array_equal(np.asarray(dirty[0]), np.asarray(clean[0]))
  for d, c in zip(dirty[1], clean[1]):
    np.testing.assert_array_equal(np.asarray(d), np.asarray(c))
  # Eagerly too: under jit XLA may rewrite x * mask as a select and hide a NaN leak.
  eager = losses.annotator_nll(f_x, f_y, padded, alpha_logit, beta_logit, mask)
  np.testing.assert_allclose(np.asarray(eager), np.asarray(
      annotator_nll(f_x, f_y, labels, alpha_logit, beta_logit, mask)), rtol=1e-6)


def test_annotator_nll_of_a_pair_without_labels_is_zero():
  got = annotator_nll(jnp.array([2.0, -1.0]), jnp.array([0.0, 0.0]), jnp.ones((2, 4)),
                             jnp.full((4,), 2.0), jnp.full((4,), 2.0), mask=jnp.zeros((2, 4)))
  np.testing.assert_allclose(np.asarray(got), 0.0, atol=1e-6)


def test_annotator_nll_broadcasts_over_a_4_by_5_batch_like_elementwise_calls():
  rng = np.random.default_rng(14)
  num_annotators = 3
  f_x = f32(rng.normal(size=(4, 5)))
  f_y = f32(rng.normal(size=(5,)))  # broadcast over the leading axis
  labels = rng.integers(0, 2, (4, 5, num_annotators)).astype(np.float32)
  alpha_logit, beta_logit = f32(rng.normal(size=3)), f32(rng.normal(size=3))
  got = np.asarray(annotator_nll(f_x, f_y, labels, alpha_logit, beta_logit))
  assert got.shape == (4, 5)
  want = brute_force_nll(f_x.ravel(), np.broadcast_to(f_y, (4, 5)).ravel(),
                         labels.reshape(20, num_annotators), alpha_logit, beta_logit)
  np.testing.assert_allclose(got.ravel(), want, rtol=1e-5, atol=1e-6)


def test_pairwise_probabilities_broadcast_over_a_4_by_5_batch():
  rng = np.random.default_rng(15)
  a, b = f32(rng.uniform(0, 1, (4, 5))), f32(rng.uniform(0, 1, (5,)))
  assert thurstone_prob(a, b).shape == (4, 5)
  np.testing.assert_allclose(np.asarray(thurstone_prob(a, b)),
                             scipy.stats.norm.cdf((a - b) / SQRT2), rtol=1e-5)
  np.testing.assert_allclose(np.asarray(label_prob(a, b, 0.3, b)),
                             scipy.stats.norm.cdf((a - b) / np.sqrt(0.09 + b**2)), rtol=1e-5)
  np.testing.assert_allclose(np.asarray(fidelity_loss(a, b)), numpy_fidelity(a, b),
                             atol=2e-7)


def test_losses_under_jit_equal_eager_evaluation():
  f_x, f_y, labels, alpha_logit, beta_logit = random_stage1_batch(np.random.default_rng(16))
  mask = np.random.default_rng(17).uniform(size=labels.shape) < 0.8
  p, g = scipy.special.expit(f_x), scipy.special.expit(f_y)
  cases = [
      (losses.annotator_nll, (f_x, f_y, labels, alpha_logit, beta_logit, mask)),
      (losses.thurstone_prob, (f_x, f_y)),
      (losses.label_prob, (f_x, f_y, np.abs(f_y), np.zeros_like(f_y))),
      (losses.fidelity_loss, (p, g)),
      (losses.mean_fidelity, (p, g, mask[:, 0])),
  ]
  for fn, args in cases:
    np.testing.assert_allclose(np.asarray(jax.jit(fn)(*args)), np.asarray(fn(*args)),
                               rtol=1e-6, atol=1e-7, err_msg=fn.__name__)


def test_annotator_nll_rejects_reliability_logits_of_the_wrong_length():
  labels = jnp.ones((3, 6))
  with pytest.raises(ValueError, match=r"alpha_logit must have shape \[J\] = \(6,\)"):
    losses.annotator_nll(jnp.zeros(3), jnp.zeros(3), labels, jnp.zeros(5), jnp.zeros(6))
  with pytest.raises(ValueError, match=r"beta_logit must have shape"):
    losses.annotator_nll(jnp.zeros(3), jnp.zeros(3), labels, jnp.zeros(6), jnp.zeros((1, 6)))
  with pytest.raises(ValueError, match=r"mask must be \[\.\.\., J\] with J = 6"):
    losses.annotator_nll(jnp.zeros(3), jnp.zeros(3), labels, jnp.zeros(6), jnp.zeros(6),
                         mask=jnp.ones((3, 5)))

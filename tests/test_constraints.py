"""Tests for biqa_jax.constraints: the GDN projection as an optax transform (method.md §1)."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from biqa_jax.constraints import PAPER_LOWER_BOUND, gdn_projection, project_gdn_params
from biqa_jax.models import BIQANet, functional

LOWER_BOUNDS = [PAPER_LOWER_BOUND, 1e-10]
GDN_LAYERS = ("gdn1", "gdn2", "gdn3", "gdn4")
EPS32 = float(np.finfo(np.float32).eps)


@pytest.fixture(scope="module")
def params():
  return functional(BIQANet(rngs=nnx.Rngs(0)))[1]


@jax.jit
def _projected_adam_step(p, state, grads, lower_bound):
  """One ``optax.chain(optax.adam(0.1), gdn_projection(lower_bound))`` step, compiled once for
  all bounds -> ``(new params, new state, updates)``."""
  tx = optax.chain(optax.adam(1e-1), gdn_projection(lower_bound))
  updates, state = tx.update(grads, state, p)
  return optax.apply_updates(p, updates), state, updates


def _is_gdn(path):
  return path[-1].key in ("beta", "gamma") and path[-2].key.startswith("gdn")


def _adversarial_grads(params, step, rng):
  """For the first 8 steps, random asymmetric grads on beta/gamma (gamma entries move apart, up
  and down); afterwards huge positive grads of random asymmetric size that push every GDN entry
  far below the bound. Plain noise on the other parameters."""

  def grad(path, p):
    if not _is_gdn(path):
      return rng.normal(size=p.shape).astype(np.float32)
    if step < 8:
      return (1e3 * rng.normal(size=p.shape)).astype(np.float32)
    return (1e6 * (1.0 + np.abs(rng.normal(size=p.shape)))).astype(np.float32)

  return jax.tree_util.tree_map_with_path(grad, params)


def _assert_feasible(new, old, lower_bound, layers=GDN_LAYERS):
  # Why not exact: the transform returns u = P(p + u0) - p and optax.apply_updates computes
  # fl(p + u); both round to multiples of ~ulp(p), so the landed value is the exact projection
  # P(.) only up to about one ulp of the *old* parameter. A symmetric P(.) therefore lands as a
  # gamma symmetric to a few ulp of max(|gamma_old|, |gamma_new|), not bitwise. For the bound,
  # the transform moves a landing that would round below lb one ulp up, so >= float32(lb)
  # holds; the 1e-6 relative slack only absorbs the rounding of lb itself to float32.
  floor = lower_bound * (1.0 - 1e-6)
  for layer in layers:
    beta, gamma = np.asarray(new[layer]["beta"]), np.asarray(new[layer]["gamma"])
    assert np.all(np.isfinite(beta)) and np.all(np.isfinite(gamma))
    assert beta.min() >= floor, (layer, beta.min(), lower_bound)
    assert gamma.min() >= floor, (layer, gamma.min(), lower_bound)
    scale = max(np.abs(gamma).max(), np.abs(np.asarray(old[layer]["gamma"])).max())
    assert np.abs(gamma - gamma.T).max() <= 4 * EPS32 * scale, layer


@pytest.mark.parametrize("lower_bound", LOWER_BOUNDS)
def test_gdn_params_stay_feasible_and_symmetric_under_adversarial_adam_steps(params, lower_bound):
  tx = optax.chain(optax.adam(1e-1), gdn_projection(lower_bound))
  rng = np.random.default_rng(0)
  p, state = params, tx.init(params)
  gamma_spread, beta_on_bound = False, False
  for k in range(28):
    new, state, _ = _projected_adam_step(p, state, _adversarial_grads(p, k, rng), lower_bound)
    _assert_feasible(new, p, lower_bound)
    assert all(bool(jnp.all(jnp.isfinite(leaf))) for leaf in jax.tree.leaves(new))
    g = np.asarray(new["gdn3"]["gamma"])
    gamma_spread |= bool((g > 0.05).sum() > 4 * g.shape[0])
    beta_on_bound |= bool(np.all(np.asarray(new["gdn1"]["beta"]) < 2 * lower_bound))
    p = new
  # The adversary really moved gamma off its diagonal start and drove beta onto the bound.
  assert gamma_spread and beta_on_bound


@pytest.mark.parametrize("lower_bound", [PAPER_LOWER_BOUND, 1e-10, 1e-30])
@pytest.mark.parametrize("jit", [False, True], ids=["eager", "jit"])
def test_update_lands_at_or_above_bound_even_when_param_is_far_above_it(lower_bound, jit):
  # Regression: p + (lb - p) rounds to a multiple of ulp(p); with p ~ 0.05 and lb = 1e-10 it
  # used to land on 0 (an infeasible beta: GDN divides by sqrt(beta) on an all-zero pixel).
  # The paper's 2^-10 is a power of two and a multiple of ulp(p) for p < 2^13, so lb - p was
  # exact there; 1e-10 and 1e-30 are not.
  rng = np.random.default_rng(1)
  beta = rng.uniform(1e-3, 10.0, 4096).astype(np.float32)
  w = rng.uniform(1e-3, 10.0, (64, 64)).astype(np.float32)
  p = {"gdn": {"beta": jnp.asarray(beta), "gamma": jnp.asarray(w + w.T)}}
  u0 = jax.tree.map(lambda x: -2.0 * x - 1.0, p)  # proposes negative values everywhere
  tx = gdn_projection(lower_bound)

  def landed(p, u0):
    updates, _ = tx.update(u0, tx.init(p), p)
    return optax.apply_updates(p, updates)

  new = (jax.jit(landed) if jit else landed)(p, u0)
  lb32 = np.float32(lower_bound)
  assert np.asarray(new["gdn"]["beta"]).min() >= lb32
  assert np.asarray(new["gdn"]["gamma"]).min() >= lb32
  # ... and not far above it: within an ulp of the old parameter.
  for name in ("beta", "gamma"):
    np.testing.assert_allclose(new["gdn"][name], lb32, rtol=0,
                               atol=2 * EPS32 * float(np.abs(p["gdn"][name]).max()))


def test_non_gdn_updates_are_bitwise_those_of_plain_adam(params):
  plain_tx = optax.adam(1e-1)
  p_proj, p_plain = params, params
  s_proj = optax.chain(plain_tx, gdn_projection()).init(params)
  s_plain = plain_tx.init(params)
  plain_update = jax.jit(plain_tx.update)
  rng = np.random.default_rng(2)
  for k in (0, 1, 8, 9):  # random then huge grads (see _adversarial_grads)
    grads = _adversarial_grads(params, k, rng)
    _, s_proj, u_proj = _projected_adam_step(p_proj, s_proj, grads, PAPER_LOWER_BOUND)
    u_plain, s_plain = plain_update(grads, s_plain, p_plain)
    changed = []
    for (path, a), b in zip(jax.tree_util.tree_leaves_with_path(u_proj), jax.tree.leaves(u_plain)):
      if _is_gdn(path):
        changed.append(not np.array_equal(a, b))
      else:
        np.testing.assert_array_equal(a, b, err_msg=jax.tree_util.keystr(path))
    assert all(changed)  # the GDN leaves, in contrast, were projected
    p_proj, p_plain = optax.apply_updates(p_proj, u_proj), optax.apply_updates(p_plain, u_plain)


@pytest.mark.parametrize("lower_bound", LOWER_BOUNDS + [0.5])
def test_projection_equals_numpy_euclidean_projection(lower_bound):
  rng = np.random.default_rng(3)
  w = rng.normal(size=(6, 6)).astype(np.float32)
  b = rng.normal(size=6).astype(np.float32)
  other = rng.normal(size=(3, 3, 2, 6)).astype(np.float32)
  tree = {"gdn": {"beta": jnp.asarray(b), "gamma": jnp.asarray(w)},
          "conv": {"kernel": jnp.asarray(other), "bias": jnp.asarray(b)}}
  out = project_gdn_params(tree, lower_bound)
  lb = np.float32(lower_bound)
  # argmin ||W - w||^2 over {W = W^T, W >= lb}: each pair (ij, ji) independently gives
  # max(lb, (w_ij + w_ji) / 2).
  np.testing.assert_array_equal(out["gdn"]["gamma"], np.maximum(lb, (w + w.T) * np.float32(0.5)))
  np.testing.assert_array_equal(out["gdn"]["beta"], np.maximum(lb, b))
  np.testing.assert_array_equal(out["conv"]["kernel"], other)
  np.testing.assert_array_equal(out["conv"]["bias"], b)  # a [C] vector not named beta
  assert np.asarray(out["gdn"]["beta"]).min() == lb  # the test data does hit the bound


def test_transform_lands_on_numpy_projection_of_proposed_point():
  rng = np.random.default_rng(4)
  g = rng.uniform(0.0, 1.0, (6, 6)).astype(np.float32)
  p = {"gdn": {"beta": jnp.asarray(rng.uniform(0.5, 1.5, 6), jnp.float32),
               "gamma": jnp.asarray(g + g.T)}}
  u0 = jax.tree.map(lambda x: jnp.asarray(rng.normal(size=x.shape), jnp.float32), p)
  tx = gdn_projection()
  updates, _ = tx.update(u0, tx.init(p), p)
  new = optax.apply_updates(p, updates)
  lb = np.float32(PAPER_LOWER_BOUND)
  w = np.asarray(p["gdn"]["gamma"]) + np.asarray(u0["gdn"]["gamma"])
  expected_gamma = np.maximum(lb, (w + w.T) / 2)
  expected_beta = np.maximum(lb, np.asarray(p["gdn"]["beta"]) + np.asarray(u0["gdn"]["beta"]))
  # Equal up to the rounding of p + (q - p) (see _assert_feasible): a few ulp of the magnitudes.
  for name, expected in (("gamma", expected_gamma), ("beta", expected_beta)):
    scale = max(np.abs(p["gdn"][name]).max(), np.abs(expected).max())
    np.testing.assert_allclose(new["gdn"][name], expected, rtol=0, atol=4 * EPS32 * scale)
  assert expected_beta.min() == lb or expected_gamma.min() == lb  # the bound is active


def test_projection_is_idempotent_and_leaves_feasible_points_unchanged(params):
  rng = np.random.default_rng(5)
  noisy = jax.tree.map(lambda x: x + jnp.asarray(rng.normal(size=x.shape), jnp.float32), params)
  once = project_gdn_params(noisy)
  twice = project_gdn_params(once)
  jax.tree.map(np.testing.assert_array_equal, twice, once)
  # A projected point is feasible: a zero step from it is exactly zero and changes nothing.
  tx = gdn_projection()
  zero = jax.tree.map(jnp.zeros_like, once)
  updates, _ = tx.update(zero, tx.init(once), once)
  jax.tree.map(lambda u: np.testing.assert_array_equal(u, np.zeros_like(u)), updates)
  jax.tree.map(np.testing.assert_array_equal, optax.apply_updates(once, updates), once)


def test_annotator_alpha_logit_and_beta_logit_are_not_projected(params):
  j = 7
  tree = {"model": params,
          "annotators": {"alpha_logit": jnp.zeros(j), "beta_logit": jnp.zeros(j)}}
  proposed = {"model": jax.tree.map(jnp.zeros_like, params),
              "annotators": {"alpha_logit": jnp.full(j, -3.0), "beta_logit": jnp.full(j, -3.0)}}
  tx = gdn_projection()
  updates, _ = tx.update(proposed, tx.init(tree), tree)
  for name in ("alpha_logit", "beta_logit"):  # passed through untouched, below the bound
    np.testing.assert_array_equal(updates["annotators"][name], proposed["annotators"][name])
  # Control: the same vector named "beta" inside a GDN layer is clamped to the bound.
  renamed = {"gdn": {"beta": tree["annotators"]["beta_logit"]}}
  u, _ = tx.update({"gdn": {"beta": proposed["annotators"]["beta_logit"]}},
                   tx.init(renamed), renamed)
  np.testing.assert_array_equal(optax.apply_updates(renamed, u)["gdn"]["beta"],
                                np.full(j, np.float32(PAPER_LOWER_BOUND)))


def test_update_without_params_raises_helpful_value_error():
  tx = gdn_projection()
  grads = {"gdn1": {"beta": jnp.ones(3), "gamma": jnp.eye(3)}}
  with pytest.raises(ValueError,
                     match=r"needs the current parameters.*tx\.update\(grads, state, params\)"):
    tx.update(grads, tx.init(grads))
  chained = optax.chain(optax.sgd(1e-1), gdn_projection())
  with pytest.raises(ValueError, match="needs the current parameters"):
    chained.update(grads, chained.init(grads))


def test_projected_adam_step_under_jit_matches_eager_step():
  rng = np.random.default_rng(6)
  g = rng.uniform(0.0, 0.2, (8, 8)).astype(np.float32)
  params = {"conv1": {"kernel": jnp.asarray(rng.normal(size=(3, 3, 2, 8)), jnp.float32)},
            "gdn1": {"beta": jnp.ones(8), "gamma": jnp.asarray(g + g.T)}}
  grads = jax.tree.map(lambda x: jnp.asarray(1e3 * rng.normal(size=x.shape), jnp.float32), params)
  tx = optax.chain(optax.adam(1e-1), gdn_projection())

  def step(p, state):
    updates, state = tx.update(grads, state, p)
    return optax.apply_updates(p, updates), state

  eager, jitted = (params, tx.init(params)), (params, tx.init(params))
  jit_step = jax.jit(step)
  for _ in range(6):  # enough steps to push some entries onto the bound
    eager, jitted = step(*eager), jit_step(*jitted)
  _assert_feasible({"gdn1": jitted[0]["gdn1"]}, {"gdn1": params["gdn1"]}, PAPER_LOWER_BOUND,
                   layers=("gdn1",))
  assert float(jitted[0]["gdn1"]["gamma"].min()) == np.float32(PAPER_LOWER_BOUND)
  # XLA fuses adam's arithmetic differently from op-by-op execution: each step's update (of
  # size ~lr = 0.1) can differ by a few float32 ulp, so 6 steps may differ by ~1e-7 absolute.
  for a, b in zip(jax.tree.leaves(jitted[0]), jax.tree.leaves(eager[0])):
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)

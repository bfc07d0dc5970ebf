"""Tests for biqa_jax.models: the GDN layer, the pyramid pooling and BIQANet (method.md §1)."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from biqa_jax.constraints import PAPER_LOWER_BOUND, project_gdn_params
from biqa_jax.models import GDN, MIN_SIZE, BIQANet, count_parameters, functional
from biqa_jax.models.biqa_net import spatial_pyramid_max_pool

C = 48  # channels of every stage in the paper's network


@pytest.fixture(scope="module")
def model():
  return BIQANet(rngs=nnx.Rngs(0))


@pytest.fixture(scope="module")
def scorer(model):
  """``(params, jitted apply_fn)``, shared so that each image shape compiles once per module."""
  apply_fn, params = functional(model)
  return params, jax.jit(apply_fn)


def _jit_features_and_scores(model):
  """``images -> (features [B, 672], scores [B])`` compiled once (eager NNX calls compile op by
  op, which is slow)."""
  graphdef, state = nnx.split(model)

  def run(s, x):
    m = nnx.merge(graphdef, s)
    return m.features(x), m(x)

  fn = jax.jit(run)
  return lambda images: fn(state, images)


def _images(seed, shape):
  """Uniform [0, 1) images drawn in NumPy (a jax.random draw would compile once per shape)."""
  return jnp.asarray(np.random.default_rng(seed).uniform(size=shape), jnp.float32)


def _gdn_with(beta, gamma, inverse=False):
  gdn = GDN(len(beta), inverse=inverse)
  gdn.beta[...] = jnp.asarray(beta, jnp.float32)
  gdn.gamma[...] = jnp.asarray(gamma, jnp.float32)
  return gdn


def _gdn_brute_force(u, beta, gamma, inverse=False):
  """Paper Eq. 12 pixel by pixel, channel by channel, in float64."""
  u = np.asarray(u, np.float64)
  v = np.empty_like(u)
  for idx in np.ndindex(*u.shape[:-1]):
    for i in range(u.shape[-1]):
      s = beta[i] + sum(gamma[i, j] * u[idx][j] ** 2 for j in range(u.shape[-1]))
      v[idx][i] = u[idx][i] * math.sqrt(s) if inverse else u[idx][i] / math.sqrt(s)
  return v


# ---------------------------------------------------------------------------------------------
# Parameter counts


def test_parameter_count_is_159377_stored_and_154865_free(model):
  assert count_parameters(model) == 159_377
  assert count_parameters(model, free=True) == 154_865


def test_parameter_count_matches_layer_table_of_method_md(model):
  def conv(cin, cout):  # 3x3 kernel + bias
    return 3 * 3 * cin * cout + cout

  def gdn(c, free):  # beta [c] + gamma [c, c] (c(c+1)/2 free entries when symmetric)
    return c + (c * (c + 1) // 2 if free else c * c)

  def dense(fin, fout):
    return fin * fout + fout

  # The per-layer numbers printed in method.md's table.
  assert (conv(3, C), conv(C, C), gdn(C, False), dense(14 * C, 128), dense(128, 1)) == (
      1_344, 20_784, 2_352, 86_144, 129)
  for free in (False, True):
    table = (conv(3, C) + 3 * conv(C, C) + 4 * gdn(C, free)
             + dense(14 * C, 128) + dense(128, 1))
    assert count_parameters(model, free=free) == table
  # The difference is exactly the redundant half of the four symmetric gammas.
  redundant_half = C * C - C * (C + 1) // 2
  assert count_parameters(model) - count_parameters(model, free=True) == 4 * redundant_half


# ---------------------------------------------------------------------------------------------
# GDN


def test_gdn_matches_brute_force_eq12_with_symmetric_positive_gamma():
  rng = np.random.default_rng(0)
  c = 4
  beta = rng.uniform(0.5, 2.0, c)
  a = rng.uniform(0.0, 1.0, (c, c))
  gamma = 0.5 * (a + a.T)
  u = rng.normal(size=(2, 5, 6, c))
  out = _gdn_with(beta, gamma)(jnp.asarray(u, jnp.float32))
  assert out.shape == u.shape and out.dtype == jnp.float32
  np.testing.assert_allclose(out, _gdn_brute_force(u, beta, gamma), rtol=2e-5, atol=1e-6)


def test_gdn_sums_over_row_i_of_gamma_when_gamma_is_asymmetric():
  # Eq. 12 reads sum_j gamma_ij u_j^2; an asymmetric gamma pins the index convention.
  rng = np.random.default_rng(1)
  c = 3
  beta = rng.uniform(0.5, 2.0, c)
  gamma = rng.uniform(0.0, 3.0, (c, c))
  u = rng.normal(size=(2, 5, 6, c))
  out = _gdn_with(beta, gamma)(jnp.asarray(u, jnp.float32))
  np.testing.assert_allclose(out, _gdn_brute_force(u, beta, gamma), rtol=2e-5, atol=1e-6)
  swapped = _gdn_brute_force(u, beta, gamma.T)
  assert not np.allclose(out, swapped, rtol=1e-3)


def test_inverse_gdn_matches_brute_force():
  rng = np.random.default_rng(2)
  c = 4
  beta = rng.uniform(0.5, 2.0, c)
  a = rng.uniform(0.0, 1.0, (c, c))
  gamma = 0.5 * (a + a.T)
  u = rng.normal(size=(2, 5, 6, c))
  out = _gdn_with(beta, gamma, inverse=True)(jnp.asarray(u, jnp.float32))
  np.testing.assert_allclose(out, _gdn_brute_force(u, beta, gamma, inverse=True),
                             rtol=2e-5, atol=1e-6)


def test_gdn_times_inverse_gdn_of_same_input_is_u_squared():
  # u / sqrt(n(u)) * u * sqrt(n(u)) = u^2: both directions use the same normaliser n(u).
  rng = np.random.default_rng(3)
  c = 5
  beta = rng.uniform(0.5, 2.0, c)
  a = rng.uniform(0.0, 1.0, (c, c))
  gamma = 0.5 * (a + a.T)
  u = jnp.asarray(rng.normal(size=(2, 5, 6, c)), jnp.float32)
  fwd = _gdn_with(beta, gamma)(u)
  inv = _gdn_with(beta, gamma, inverse=True)(u)
  np.testing.assert_allclose(fwd * inv, u * u, rtol=1e-5, atol=1e-6)


def test_gdn_with_zero_gamma_is_u_over_sqrt_beta_and_inverse_undoes_it():
  rng = np.random.default_rng(4)
  c = 4
  beta = rng.uniform(0.5, 2.0, c)
  u = jnp.asarray(rng.normal(size=(2, 5, 6, c)), jnp.float32)
  fwd = _gdn_with(beta, np.zeros((c, c)))
  inv = _gdn_with(beta, np.zeros((c, c)), inverse=True)
  np.testing.assert_allclose(fwd(u), u / np.sqrt(beta), rtol=1e-6)
  np.testing.assert_allclose(inv(fwd(u)), u, rtol=1e-6, atol=1e-7)


def test_inverse_gdn_does_not_undo_gdn_when_gamma_is_nonzero():
  # IGDN(GDN(u)) recomputes the normaliser from the *normalised* values, so it is not the
  # identity once gamma couples channels; only the gamma = 0 case above round-trips.
  c = 4
  beta, gamma = np.ones(c), np.full((c, c), 0.5)
  u = jnp.asarray(np.random.default_rng(5).normal(size=(2, 5, 6, c)), jnp.float32)
  roundtrip = _gdn_with(beta, gamma, inverse=True)(_gdn_with(beta, gamma)(u))
  assert not np.allclose(roundtrip, u, rtol=1e-2)


def test_gdn_rejects_wrong_channel_count():
  with pytest.raises(ValueError, match="channels"):
    GDN(4)(jnp.ones((1, 3, 3, 5)))


def test_initial_gdn_parameters_are_beta_one_gamma_symmetric_0p1_identity():
  gdn = GDN(C)
  beta, gamma = np.asarray(gdn.beta[...]), np.asarray(gdn.gamma[...])
  np.testing.assert_array_equal(beta, np.ones(C))
  np.testing.assert_array_equal(gamma, gamma.T)
  np.testing.assert_allclose(gamma, 0.1 * np.eye(C), rtol=1e-7)
  # beta and the diagonal of gamma start above the paper's bound 2^-10. The off-diagonal
  # entries are 0 (the authors' gamma = 0.1 I), below that bound; the first projection step
  # lifts them to it (see the next test for what the network starts training from).
  assert beta.min() >= PAPER_LOWER_BOUND
  assert np.diag(gamma).min() >= PAPER_LOWER_BOUND
  assert gamma.min() >= 0.0


@pytest.mark.parametrize("project", [False, True], ids=["init", "init_projected_to_paper_bound"])
def test_initial_gdn_is_well_conditioned(project):
  gdn = GDN(C)
  max_offdiag = 0.0
  if project:
    state = project_gdn_params({"beta": gdn.beta[...], "gamma": gdn.gamma[...]})
    gdn.beta[...], gdn.gamma[...] = state["beta"], state["gamma"]
    max_offdiag = PAPER_LOWER_BOUND
  rng = np.random.default_rng(6)
  u = jnp.asarray(rng.uniform(-1.0, 1.0, (2, 5, 6, C)), jnp.float32)
  norm = jnp.einsum("...j,ij->...i", u * u, gdn.gamma[...]) + gdn.beta[...]
  assert float(norm.min()) >= 1.0  # denominator sqrt(norm) >= 1: never amplifies
  v = gdn(u)
  assert bool(jnp.all(jnp.abs(v) <= jnp.abs(u)))
  # For |u| <= 1 the normaliser is at most 1 + 0.1 + (C-1) * (off-diagonal gamma).
  ratio = np.asarray(v / u)
  assert ratio.max() <= 1.0
  assert ratio.min() >= 1.0 / math.sqrt(1.1 + (C - 1) * max_offdiag) - 1e-6
  if not project:  # gamma = 0.1 I acts channel by channel: v/u = 1/sqrt(1 + 0.1 u^2) exactly
    np.testing.assert_allclose(ratio, 1.0 / np.sqrt(1.0 + 0.1 * np.asarray(u) ** 2), rtol=1e-6)
  jacobian = jax.jit(jax.jacfwd(lambda x: gdn(x)))
  for x in (u[:1, :1, :2], jnp.zeros((1, 1, 1, C))):
    assert bool(jnp.all(jnp.isfinite(jacobian(x))))


# ---------------------------------------------------------------------------------------------
# Spatial pyramid max-pooling


def _spp_brute_force(x, levels):
  b, h, w, c = x.shape
  feats = []
  for n in levels:
    for i in range(n):
      r0, r1 = (i * h) // n, -((-(i + 1) * h) // n)  # floor, ceil in exact integers
      for j in range(n):
        c0, c1 = (j * w) // n, -((-(j + 1) * w) // n)
        cell = np.full((b, c), -np.inf)
        for y in range(r0, r1):
          for xx in range(c0, c1):
            cell = np.maximum(cell, x[:, y, xx, :])
        feats.append(cell)
  return np.concatenate(feats, axis=-1)


@pytest.mark.parametrize("h,w", [(5, 7), (3, 3), (7, 5), (4, 6), (8, 3)])
def test_spp_matches_brute_force_adaptive_max_pool_with_floor_ceil_bins(h, w):
  x = np.random.default_rng(h * 10 + w).normal(size=(2, h, w, 5)).astype(np.float32)
  out = spatial_pyramid_max_pool(jnp.asarray(x), (1, 2, 3))
  assert out.shape == (2, 14 * 5)
  np.testing.assert_array_equal(out, _spp_brute_force(x, (1, 2, 3)))


@pytest.mark.parametrize("h,w", [(5, 7), (3, 3), (4, 4), (7, 11)])
def test_spp_bins_of_every_level_cover_every_pixel(h, w):
  # Image k of the batch is 1 at pixel k and 0 elsewhere: that 1 must reach some bin of every
  # level.
  one_hot = np.eye(h * w, dtype=np.float32).reshape(h * w, h, w, 1)
  out = np.asarray(spatial_pyramid_max_pool(jnp.asarray(one_hot), (1, 2, 3)))
  for k, (y, x) in enumerate(np.ndindex(h, w)):
    assert out[k, 0] == 1.0 and out[k, 1:5].max() == 1.0 and out[k, 5:14].max() == 1.0, (y, x)


def test_network_features_are_14_bins_times_48_channels(model):
  assert jax.eval_shape(model.features, _images(0, (2, 24, 29, 3))).shape == (2, 14 * C)


# ---------------------------------------------------------------------------------------------
# BIQANet on images of any size


def test_minimum_input_size_is_24():
  assert MIN_SIZE == 24


SIZES = [(24, 24), (24, 37), (61, 29), (37, 24)]


@pytest.mark.parametrize("h,w", SIZES)
def test_network_scores_any_size_from_24_px_as_float32_vector(scorer, h, w):
  params, score = scorer
  scores = score(params, _images(h + w, (2, h, w, 3)))
  assert scores.shape == (2,) and scores.dtype == jnp.float32
  assert bool(jnp.all(jnp.isfinite(scores)))


@pytest.mark.parametrize("h,w", [(23, 30), (30, 23), (23, 23)])
def test_image_below_24_px_raises_value_error_naming_the_minimum(model, h, w):
  with pytest.raises(ValueError, match="minimum 24x24"):
    model(jnp.zeros((1, h, w, 3)))


@pytest.mark.parametrize("shape", [(1, 24, 24, 1), (1, 24, 24, 4), (24, 24, 3)])
def test_wrong_image_layout_or_channel_count_raises(model, shape):
  with pytest.raises(ValueError, match=r"\[B, H, W, 3\]"):
    model(jnp.zeros(shape))


def test_same_params_give_one_score_per_image_at_every_size(model, scorer):
  # The pyramid pooling maps every size to the same 672 features, so one dense head serves all;
  # the scores depend on the content (a constant image is not scored like a random one).
  params, score = scorer
  for h, w in SIZES:
    images = jnp.concatenate([_images(1, (1, h, w, 3)), jnp.full((1, h, w, 3), 0.5)])
    assert jax.eval_shape(model.features, images).shape == (2, 14 * C)
    scores = score(params, images)
    assert scores.shape == (2,)
    assert float(scores[0]) != float(scores[1])


def test_batch_scores_equal_scores_of_images_one_by_one(scorer):
  params, score = scorer
  images = _images(7, (3, 32, 40, 3))
  batch = score(params, images)
  single = jnp.concatenate([score(params, images[i:i + 1]) for i in range(3)])
  np.testing.assert_allclose(batch, single, rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------------------------
# The pure-function view


def test_functional_apply_equals_model_eager_and_jitted(model, scorer):
  apply_fn, params = functional(model)
  jitted_params, jitted_apply_fn = scorer  # jax.jit(functional(model)[0]), shared compile cache
  images = _images(8, (3, 32, 40, 3))
  expected = model(images)
  np.testing.assert_allclose(apply_fn(params, images), expected, rtol=1e-6, atol=1e-7)
  np.testing.assert_allclose(jitted_apply_fn(jitted_params, images), expected,
                             rtol=1e-5, atol=1e-6)


def test_functional_apply_uses_given_params_and_leaves_model_unchanged(model, scorer):
  apply_fn, params = functional(model)
  _, jitted_apply_fn = scorer
  images = _images(9, (3, 32, 40, 3))
  before = model(images)
  doubled = jax.tree.map(lambda p: 2.0 * p, params)
  assert not np.allclose(jitted_apply_fn(doubled, images), before, rtol=1e-3)
  np.testing.assert_array_equal(model(images), before)
  np.testing.assert_array_equal(apply_fn(params, images), before)


def test_params_are_a_plain_dict_of_float32_arrays_with_paper_layer_names(model):
  _, params = functional(model)
  assert isinstance(params, dict)
  assert sorted(params) == ["conv1", "conv2", "conv3", "conv4", "fc1", "fc2",
                            "gdn1", "gdn2", "gdn3", "gdn4"]
  assert params["gdn1"]["gamma"].shape == (C, C) and params["gdn4"]["beta"].shape == (C,)
  assert all(leaf.dtype == jnp.float32 for leaf in jax.tree.leaves(params))


def test_gradient_wrt_params_is_finite_nonzero_and_has_params_structure(model):
  apply_fn, params = functional(model)
  images = _images(10, (2, 24, 24, 3))
  grads = jax.jit(jax.grad(lambda p: jnp.sum(apply_fn(p, images))))(params)
  assert jax.tree.structure(grads) == jax.tree.structure(params)
  for g, p in zip(jax.tree.leaves(grads), jax.tree.leaves(params)):
    assert g.shape == p.shape and g.dtype == p.dtype
    assert bool(jnp.all(jnp.isfinite(g)))
  assert all(float(jnp.abs(grads[name]["kernel"]).max()) > 0
             for name in ("conv1", "conv4", "fc1", "fc2"))
  assert float(jnp.abs(grads["gdn2"]["gamma"]).max()) > 0


# ---------------------------------------------------------------------------------------------
# bfloat16 compute


def test_bfloat16_model_keeps_float32_params_and_output_close_to_float32_model(model):
  f32 = model
  bf16 = BIQANet(rngs=nnx.Rngs(0), dtype=jnp.bfloat16)
  params = nnx.to_pure_dict(nnx.state(bf16, nnx.Param))
  assert all(leaf.dtype == jnp.float32 for leaf in jax.tree.leaves(params))
  jax.tree.map(np.testing.assert_array_equal, params, nnx.to_pure_dict(nnx.state(f32, nnx.Param)))

  images = _images(11, (4, 40, 48, 3))
  feats_ref, ref = _jit_features_and_scores(f32)(images)
  feats, out = _jit_features_and_scores(bf16)(images)
  feats = feats.astype(jnp.float32)
  assert out.shape == (4,) and out.dtype == jnp.float32
  assert not np.array_equal(out, ref)  # the computation really ran in bfloat16
  # Why a loose tolerance: bfloat16 keeps 8 significant bits (unit roundoff 2^-9 ~ 0.2%), and
  # the inputs, 4 conv outputs, 4 GDN outputs and 2 dense layers are each rounded to it, so
  # errors of a few 0.1% of the magnitudes involved are expected. The pooled features involve
  # no cancellation: 2% of their largest value (~0.5% seen). The final 128->1 dot product can
  # cancel, so its error is bounded relative to sum_k |w_k h_k| + |b| rather than to |score|:
  # 2% of that scale (~0.1% seen).
  assert float(jnp.abs(feats - feats_ref).max()) <= 0.02 * float(jnp.abs(feats_ref).max())
  hidden = nnx.relu(f32.fc1(feats_ref))
  scale = jnp.abs(hidden) @ jnp.abs(f32.fc2.kernel[...])[:, 0] + jnp.abs(f32.fc2.bias[...][0])
  assert bool(jnp.all(jnp.abs(out - ref) <= 0.02 * scale)), (out, ref, scale)


@pytest.mark.parametrize("h,w", [(8, 8), (7, 9), (5, 4)])
def test_max_pool_2x2_equals_flax_valid_max_pool_including_odd_sizes(h, w):
  from biqa_jax.models.biqa_net import max_pool_2x2

  x = jax.random.normal(jax.random.key(h * w), (2, h, w, 3))
  expected = nnx.max_pool(x, window_shape=(2, 2), strides=(2, 2), padding="VALID")
  np.testing.assert_array_equal(max_pool_2x2(x), expected)

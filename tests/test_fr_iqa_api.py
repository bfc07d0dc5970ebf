"""biqa_jax.fr_iqa's public API: MODELS, compute, compute_batch, options, dtypes and input errors."""

import jax
import numpy as np
import pytest

from biqa_jax import fr_iqa

SHAPE = (191, 187, 3)  # shared with the other fr_iqa tests, so jit compiles once per model


def _pair(shape=SHAPE, seed=0):
  rng = np.random.default_rng(seed)
  ref = rng.integers(0, 256, shape).astype(np.uint8)
  dist = np.clip(ref.astype(int) + rng.integers(-20, 21, shape), 0, 255).astype(np.uint8)
  return ref, dist


def test_models_is_a_plain_dict_with_directions_and_functions():
  assert type(fr_iqa.MODELS) is dict
  assert {"psnr", "ssim", "ms_ssim", "gmsd", "mdsi", "vifp", "fsim", "fsimc", "vsi", "nlpd", "vif"} <= set(fr_iqa.MODELS)
  lower = {name for name, m in fr_iqa.MODELS.items() if m.direction == "lower"}
  assert lower == {"gmsd", "mdsi", "nlpd"}
  assert all(callable(m.fn) and m.min_size >= 1 for m in fr_iqa.MODELS.values())


def test_model_function_is_batch_polymorphic_over_leading_axes():
  ref, dist = _pair((2, 3, 48, 48, 3))
  out = jax.jit(fr_iqa.MODELS["ssim"].fn)(ref.astype(np.float32), dist.astype(np.float32))
  assert out.shape == (2, 3)
  np.testing.assert_allclose(np.asarray(out)[1, 2],
                             fr_iqa.compute("ssim", ref[1, 2], dist[1, 2]), rtol=1e-6)


def test_compute_returns_python_float_and_batch_returns_vector():
  ref, dist = _pair()
  value = fr_iqa.compute("psnr", ref, dist)
  assert isinstance(value, float)
  batch = fr_iqa.compute_batch("psnr", np.stack([ref, dist]), np.stack([dist, dist]))
  assert batch.shape == (2,) and batch[0] == pytest.approx(value, rel=1e-6) and batch[1] == np.inf


def test_options_are_passed_and_unknown_ones_rejected():
  big_ref, big_dist = _pair((385, 391, 3))  # >= 384 so that SSIM's automatic downsampling applies
  assert fr_iqa.compute("ssim", big_ref, big_dist) != pytest.approx(
      fr_iqa.compute("ssim", big_ref, big_dist, downsample=False))
  ref, dist = _pair()
  assert fr_iqa.compute("mdsi", ref, dist, combination="mult") != pytest.approx(fr_iqa.compute("mdsi", ref, dist))
  with pytest.raises(TypeError, match="downsample"):
    fr_iqa.compute("gmsd", ref, dist, downsample=False)
  with pytest.raises(ValueError, match="'sum' or 'mult'"):
    fr_iqa.compute("mdsi", ref, dist, combination="max")


def test_float64_option_changes_precision_only():
  ref, dist = _pair()
  single = fr_iqa.compute("gmsd", ref, dist)
  double = fr_iqa.compute("gmsd", ref, dist, dtype=np.float64)
  assert single == pytest.approx(double, rel=1e-5) and single != double
  with pytest.raises(ValueError, match="dtype"):
    fr_iqa.compute("gmsd", ref, dist, dtype=np.float16)


def test_unknown_model_is_named():
  ref, dist = _pair()
  with pytest.raises(ValueError, match="Unknown FR-IQA model 'ssimm'.*ms_ssim"):
    fr_iqa.compute("ssimm", ref, dist)


def test_different_sizes_are_rejected_with_both_shapes():
  ref, _ = _pair()
  with pytest.raises(ValueError, match=r"differ in size: \(191, 187, 3\) vs \(191, 186, 3\)"):
    fr_iqa.compute("psnr", ref, ref[:, :186])
  with pytest.raises(ValueError, match="differ in size"):
    fr_iqa.compute("psnr", ref, ref[..., 0])
  with pytest.raises(ValueError, match="differ in size"):
    fr_iqa.compute_batch("psnr", np.stack([ref, ref]), ref[None])


@pytest.mark.parametrize("name, minimum", [("ssim", 11), ("ms_ssim", 176), ("vifp", 41), ("gmsd", 4), ("nlpd", 32), ("vif", 65)])
def test_too_small_images_give_the_minimum_size(name, minimum):
  ref, dist = _pair((minimum - 1, 300, 3))
  with pytest.raises(ValueError, match=f"at least {minimum}x{minimum} pixels, got {minimum - 1}x300"):
    fr_iqa.compute(name, ref, dist)
  assert np.isfinite(fr_iqa.MODELS[name].min_size)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_pixels_are_rejected(bad):
  ref, dist = _pair()
  dist = dist.astype(np.float64)
  dist[3, 4, 1] = bad
  with pytest.raises(ValueError, match="NaN or inf"):
    fr_iqa.compute("ssim", ref, dist)


def test_wrong_scale_and_shape_are_rejected():
  ref, dist = _pair()
  with pytest.raises(ValueError, match="0-255 scale"):
    fr_iqa.compute("ssim", ref / 255.0 - 0.5, dist / 255.0)
  with pytest.raises(ValueError, match="H x W or H x W x 3"):
    fr_iqa.compute("ssim", ref[..., :2], dist[..., :2])
  with pytest.raises(ValueError, match="real-valued"):
    fr_iqa.compute("ssim", ref.astype(complex), dist.astype(complex))


def test_float_input_on_0_255_scale_equals_uint8_input():
  ref, dist = _pair()
  assert fr_iqa.compute("vsi", ref.astype(np.float64), dist.astype(np.float32)) == \
      fr_iqa.compute("vsi", ref, dist)


def test_flat_images_give_nan_where_the_matlab_code_divides_zero_by_zero():
  flat = np.full(SHAPE, 90, np.uint8)
  undefined = {"vifp", "vif", "fsim", "fsimc", "vsi"}
  for name in fr_iqa.MODELS:
    value = fr_iqa.compute(name, flat, flat)
    assert np.isnan(value) == (name in undefined), (name, value)

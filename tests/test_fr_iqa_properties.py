"""Properties every biqa_jax.fr_iqa model must have, on a 191x187 crop of skimage's astronaut.

Identical images give the ideal value; scores get worse monotonically with blur and noise
strength (in the direction MODELS states); symmetric models are symmetric and the asymmetric ones
are not; compute_batch equals per-pair compute; grey/colour input behaves as documented.
"""

import numpy as np
import pytest
import scipy.ndimage
import skimage.data

from biqa_jax import fr_iqa

NAMES = sorted(fr_iqa.MODELS)
IDEAL = {"psnr": np.inf, "ssim": 1.0, "ms_ssim": 1.0, "gmsd": 0.0, "mdsi": 0.0, "vifp": 1.0,
         "fsim": 1.0, "fsimc": 1.0, "vsi": 1.0, "nlpd": 0.0, "vif": 1.0}
SYMMETRIC = {"psnr", "ssim", "ms_ssim", "gmsd", "fsim", "fsimc", "vsi", "nlpd"}
ASYMMETRIC = {"mdsi", "vifp", "vif"}


@pytest.fixture(scope="module")
def photo():
  return skimage.data.astronaut()[40:231, 150:337]  # 191x187 face and helmet: odd, non-square


def _blur(image, sigma):
  out = scipy.ndimage.gaussian_filter(image.astype(np.float64), (sigma, sigma, 0))
  return np.clip(np.round(out), 0, 255).astype(np.uint8)


def _noise(image, sigma, seed=0):
  noise = np.random.default_rng(seed).normal(0, sigma, image.shape)
  return np.clip(np.round(image + noise), 0, 255).astype(np.uint8)


def _batch(photo, distort, strengths):
  refs = np.stack([photo] * (len(strengths) + 1))
  dists = np.stack([photo] + [distort(photo, s) for s in strengths])
  return refs, dists


def test_every_model_has_a_property_entry():
  assert set(NAMES) == set(IDEAL) and SYMMETRIC | ASYMMETRIC == set(NAMES)
  assert all(m.direction in ("higher", "lower") for m in fr_iqa.MODELS.values())


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("distortion", ["blur", "noise"])
def test_identical_is_ideal_and_quality_falls_monotonically(name, distortion, photo):
  """Index 0 is the undistorted pair; then increasing blur sigma / noise std."""
  distort, strengths = {"blur": (_blur, [0.7, 1.5, 3.0, 6.0]),
                        "noise": (_noise, [3.0, 10.0, 25.0, 60.0])}[distortion]
  refs, dists = _batch(photo, distort, strengths)
  scores = fr_iqa.compute_batch(name, refs, dists)
  if np.isinf(IDEAL[name]):
    assert scores[0] == np.inf
  else:
    assert scores[0] == pytest.approx(IDEAL[name], abs=1e-5)
  sign = 1.0 if fr_iqa.MODELS[name].direction == "higher" else -1.0
  assert np.all(np.diff(sign * scores) < 0), scores


@pytest.mark.parametrize("name", NAMES)
def test_symmetry_and_batch_equals_per_pair_compute(name, photo):
  """Same [5, H, W, 3] shapes as the monotonicity test, so that jit compiles only once more (N=1).

  float64 agreement is checked on the reference images (test_fr_iqa_reference.py)."""
  refs, dists = _batch(photo, _noise, [3.0, 10.0, 25.0, 60.0])
  dists[0] = _blur(photo, 1.0)
  batch = fr_iqa.compute_batch(name, refs, dists)
  single = [fr_iqa.compute(name, r, d) for r, d in zip(refs[:2], dists[:2])]
  np.testing.assert_allclose(batch[:2], single, rtol=1e-5)  # float32 roundoff differs with batch size
  forward = batch
  backward = fr_iqa.compute_batch(name, dists, refs)
  if name in SYMMETRIC:
    np.testing.assert_allclose(forward, backward, rtol=1e-6)
  else:
    assert np.all(np.abs(forward - backward) > 1e-4 * np.abs(forward)), (forward, backward)


@pytest.mark.parametrize("name", ["ssim"])  # ms_ssim, gmsd, vifp, vif, nlpd call the same ssim.grey
def test_grey_models_convert_rgb_with_rounded_rgb2gray(name, photo):
  """Grey models on RGB == the same model on MATLAB's uint8 rgb2gray of it (all grey models use ``ssim.grey``)."""
  dist = _blur(photo, 1.5)
  weights = np.array([0.298936021293775, 0.587043074451121, 0.114020904255103])
  grey = lambda x: np.floor(x.astype(np.float64) @ weights + 0.5).astype(np.uint8)
  rgb_score = fr_iqa.compute(name, photo, dist)
  assert rgb_score == pytest.approx(fr_iqa.compute(name, grey(photo), grey(dist)), rel=1e-6)


@pytest.mark.parametrize("name", ["mdsi", "vsi"])
def test_colour_models_replicate_grey_input(name, photo):
  grey = photo[..., 1]
  dist = _blur(photo, 1.5)[..., 1]
  as_rgb = lambda x: np.repeat(x[..., None], 3, axis=-1)
  assert fr_iqa.compute(name, grey, dist) == pytest.approx(
      fr_iqa.compute(name, as_rgb(grey), as_rgb(dist)), rel=1e-6)


def test_fsimc_equals_fsim_on_grey_input(photo):
  grey, dist = photo[..., 1], _noise(photo, 10.0)[..., 1]
  assert fr_iqa.compute("fsimc", grey, dist) == pytest.approx(fr_iqa.compute("fsim", grey, dist), rel=1e-6)
  # and on RGB the chroma term makes FSIMc differ from FSIM
  rgb_dist = _noise(photo, 10.0)
  assert fr_iqa.compute("fsimc", photo, rgb_dist) < fr_iqa.compute("fsim", photo, rgb_dist) * (1 - 1e-4)

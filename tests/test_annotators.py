"""Tests for biqa_jax.data.annotators: the Stage-1 FR annotators (higher = better)."""

import numpy as np
import pytest
import skimage.metrics

from biqa_jax.data import annotators, embedded
from biqa_jax.data.image_set import PRISTINE

TYPES = ("gaussian_blur", "white_noise")


@pytest.fixture(scope="module")
def image_set():
  return embedded.load_embedded(short_side=64, distortion_types=TYPES, seed=0)


@pytest.fixture(scope="module")
def scores(image_set):
  return annotators.annotator_scores(image_set, ("level_order", "psnr", "ssim"))


def _psnr_db(image, reference):
  mse = np.mean((image.astype(np.float64) - reference.astype(np.float64))**2)
  return 10 * np.log10(255.0**2 / mse)


def test_scores_have_one_row_per_image_and_one_column_per_annotator(image_set, scores):
  assert scores.shape == (len(image_set), 3) and scores.dtype == np.float32
  assert np.all(np.isfinite(scores))


def test_level_order_is_minus_level(image_set, scores):
  np.testing.assert_array_equal(scores[:, 0], -image_set.level.astype(np.float32))


def test_psnr_matches_mse_formula_and_scikit_image(image_set, scores):
  for i in np.flatnonzero(image_set.distortion != PRISTINE):
    ref = image_set.images[image_set.reference_index[i]]
    expected = _psnr_db(image_set.images[i], ref)
    assert scores[i, 1] == pytest.approx(expected, rel=1e-5), image_set.names[i]
    independent = skimage.metrics.peak_signal_noise_ratio(ref, image_set.images[i], data_range=255)
    assert scores[i, 1] == pytest.approx(independent, rel=1e-5), image_set.names[i]


def test_psnr_of_the_reference_itself_is_100_and_above_every_distorted_image(image_set, scores):
  pristine = image_set.distortion == PRISTINE
  np.testing.assert_array_equal(scores[pristine, 1], annotators.PSNR_OF_IDENTICAL)
  assert annotators.PSNR_OF_IDENTICAL == 100.0
  assert scores[~pristine, 1].max() < 100.0


def test_ssim_of_the_reference_is_1(image_set, scores):
  pristine = image_set.distortion == PRISTINE
  np.testing.assert_allclose(scores[pristine, 2], 1.0, atol=1e-6)
  assert np.all(scores[~pristine, 2] < 1.0)


def test_ssim_falls_with_blur_level_for_every_reference(image_set, scores):
  blur = TYPES.index("gaussian_blur")
  for r in np.flatnonzero(image_set.distortion == PRISTINE):
    rows = [np.flatnonzero((image_set.reference_index == r) & (image_set.distortion == blur)
                           & (image_set.level == l))[0] for l in range(1, 6)]
    ssim = scores[rows, 2]
    assert np.all(np.diff(ssim) < 0), (image_set.names[r], ssim)
    assert ssim[0] < 1.0


def test_unknown_annotator_error_names_it_and_the_known_ones(image_set):
  with pytest.raises(ValueError, match="vif_not_wired") as err:
    annotators.annotator_scores(image_set, ("psnr", "vif_not_wired"))
  for name in annotators.ANNOTATORS:
    assert name in str(err.value)

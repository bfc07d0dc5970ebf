"""Tests for biqa_jax.data.distortions, on a 128 x 128 crop of scikit-image's bundled astronaut."""

import colorsys

import numpy as np
import pytest
import scipy.interpolate
import skimage.color
import skimage.data
from PIL import features

from biqa_jax.data import distortions
from biqa_jax.data.distortions import DISTORTIONS, NUM_LEVELS, distort

NAMES = sorted(DISTORTIONS)
RANDOM_TYPES = ("white_noise", "impulse_noise")
# Tone and colour changes: PSNR says little about them, the mean absolute difference grows.
TONE_AND_COLOUR_TYPES = ("brighten", "color_saturation_1", "contrast_change", "darken")


@pytest.fixture(scope="module")
def photo():
  return skimage.data.astronaut()[30:158, 180:308].copy()  # the face: edges, skin, hair


def _psnr(x, y):
  mse = np.mean((x.astype(np.float64) - y.astype(np.float64))**2)
  return np.inf if mse == 0 else 10 * np.log10(255.0**2 / mse)


def _mean_abs_diff(x, y):
  return np.mean(np.abs(x.astype(np.float64) - y.astype(np.float64)))


def test_every_type_has_five_level_parameters():
  for name, (fn, params) in DISTORTIONS.items():
    assert callable(fn), name
    assert len(params) == NUM_LEVELS == 5, name


def test_jpeg2000_is_listed_exactly_when_pillow_has_openjpeg():
  assert ("jpeg2000" in DISTORTIONS) == features.check("jpg_2000")


@pytest.mark.parametrize("name", NAMES)
def test_output_keeps_shape_and_uint8_dtype_at_every_level(photo, name):
  odd = photo[:61, :47]  # odd, non-square sizes catch transposed or padded outputs
  for level in range(NUM_LEVELS):
    out = distort(odd, name, level)
    assert out.shape == odd.shape and out.dtype == np.uint8, (name, level)


@pytest.mark.parametrize("name", NAMES)
def test_does_not_modify_its_input(photo, name):
  before = photo.copy()
  distort(photo, name, NUM_LEVELS - 1, seed=3)
  np.testing.assert_array_equal(photo, before)


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_gives_the_same_output(photo, name):
  np.testing.assert_array_equal(distort(photo, name, 2, seed=7), distort(photo, name, 2, seed=7))


@pytest.mark.parametrize("name", RANDOM_TYPES)
def test_noise_differs_with_a_different_seed(photo, name):
  assert not np.array_equal(distort(photo, name, 2, seed=1), distort(photo, name, 2, seed=2))


@pytest.mark.parametrize("name", NAMES)
def test_every_level_changes_the_image(photo, name):
  for level in range(NUM_LEVELS):
    assert not np.array_equal(distort(photo, name, level), photo), (name, level)


@pytest.mark.parametrize("name", [n for n in NAMES if n not in TONE_AND_COLOUR_TYPES])
def test_psnr_falls_strictly_from_level_0_to_4(photo, name):
  psnr = [_psnr(photo, distort(photo, name, level, seed=0)) for level in range(NUM_LEVELS)]
  assert all(a > b for a, b in zip(psnr, psnr[1:])), (name, psnr)


@pytest.mark.parametrize("name", TONE_AND_COLOUR_TYPES)
def test_mean_absolute_difference_grows_strictly_from_level_0_to_4(photo, name):
  mad = [_mean_abs_diff(photo, distort(photo, name, level)) for level in range(NUM_LEVELS)]
  assert all(a < b for a, b in zip(mad, mad[1:])), (name, mad)


def test_unknown_name_is_an_error_listing_the_known_ones(photo):
  with pytest.raises(ValueError, match="unknown distortion 'gausian_blur'") as e:
    distort(photo, "gausian_blur", 0)
  for name in NAMES:
    assert name in str(e.value)


@pytest.mark.parametrize("level", [-1, 5, 1.0, True, "2"])
def test_level_outside_0_to_4_or_not_an_int_is_an_error(photo, level):
  with pytest.raises(ValueError, match="level_index must be an int in 0..4"):
    distort(photo, "jpeg", level)


def test_numpy_integer_level_is_accepted(photo):
  np.testing.assert_array_equal(distort(photo, "jpeg", np.int64(3)), distort(photo, "jpeg", 3))


@pytest.mark.parametrize("image", [np.zeros((8, 8), np.uint8), np.zeros((8, 8, 3), np.float32),
                                   np.zeros((8, 8, 4), np.uint8)], ids=["grey", "float", "rgba"])
def test_non_rgb_uint8_image_is_an_error(image):
  with pytest.raises(ValueError, match=r"\[H, W, 3\] uint8"):
    distort(image, "jpeg", 0)


# --- each formula against an independent computation -------------------------------------------

@pytest.mark.parametrize("sigma", [0.5, 1.0, 2.0])
def test_gaussian_blur_of_a_point_is_the_normalised_2d_gaussian(sigma):
  image = np.zeros((31, 31, 3), np.uint8)
  image[15, 15] = 255
  out = distortions.gaussian_blur(image, sigma, None).astype(np.float64)
  r = int(np.ceil(2 * sigma))  # KADID's fspecial size 2 ceil(2 sigma) + 1
  yy, xx = np.mgrid[-15:16, -15:16]
  kernel = np.exp(-(xx**2 + yy**2) / (2 * sigma**2)) * ((abs(xx) <= r) & (abs(yy) <= r))
  expected = np.round(255 * kernel / kernel.sum())
  np.testing.assert_array_equal(out[..., 0], expected)


def test_white_noise_has_the_level_variance_on_a_mid_grey_image():
  image = np.full((256, 256, 3), 128, np.uint8)
  variance = DISTORTIONS["white_noise"][1][4]
  noise = distort(image, "white_noise", 4).astype(np.float64) / 255 - 128 / 255
  assert abs(noise.mean()) < 0.002
  assert noise.var() == pytest.approx(variance, rel=0.05)


def test_impulse_noise_hits_the_density_half_salt_half_pepper():
  image = np.full((256, 256, 3), 128, np.uint8)
  density = DISTORTIONS["impulse_noise"][1][4]
  out = distort(image, "impulse_noise", 4)
  assert set(np.unique(out)) <= {0, 128, 255}
  assert np.mean(out == 0) == pytest.approx(density / 2, rel=0.1)
  assert np.mean(out == 255) == pytest.approx(density / 2, rel=0.1)


@pytest.mark.parametrize("factor", [0.4, 0.0, -0.4])
def test_color_saturation_1_scales_hsv_saturation(factor):
  image = np.random.default_rng(0).integers(0, 256, (6, 7, 3), dtype=np.uint8)
  out = distortions.color_saturation_1(image, factor, None)
  expected = np.empty_like(image)
  for idx in np.ndindex(image.shape[:2]):
    h, s, v = colorsys.rgb_to_hsv(*(image[idx] / 255.0))
    rgb = np.array(colorsys.hsv_to_rgb(h, s * factor, v))
    expected[idx] = np.rint(np.clip(rgb, 0, 1) * 255)
  assert np.abs(out.astype(int) - expected).max() <= 1


@pytest.mark.parametrize("name, sign", [("darken", -1), ("brighten", +1)])
def test_midpoint_curve_is_matlab_spline_through_three_points(name, sign):
  # KADID's curves.m: MATLAB spline (not-a-knot) through (0, 0), (0.5, 0.5 +- amount/2), (1, 1).
  amount = DISTORTIONS[name][1][2]
  spline = scipy.interpolate.CubicSpline([0, 0.5, 1], [0, 0.5 + sign * amount / 2, 1],
                                         bc_type="not-a-knot")
  x = np.linspace(0, 1, 101)
  np.testing.assert_allclose(distortions._midpoint_curve(x, 0.5 + sign * amount / 2),
                             np.clip(spline(x), 0, 1), atol=1e-12)


def test_darken_on_a_grey_ramp_follows_the_midpoint_curve():
  ramp = np.repeat(np.arange(256, dtype=np.uint8).reshape(16, 16, 1), 3, axis=2)
  amount = DISTORTIONS["darken"][1][3]
  out = distortions.darken(ramp, amount, None)
  x = np.arange(256) / 255.0
  spline = scipy.interpolate.CubicSpline([0, 0.5, 1], [0, 0.5 - amount / 2, 1],
                                         bc_type="not-a-knot")
  np.testing.assert_array_equal(out[..., 1].ravel(), np.rint(np.clip(spline(x), 0, 1) * 255))


def test_brighten_mixes_per_channel_and_lab_lightness_curves(photo):
  amount = DISTORTIONS["brighten"][1][2]
  x = photo[:16, :16] / 255.0
  c = 0.5 + amount / 2
  curve = lambda t: np.clip(t + (4 * c - 2) * t * (1 - t), 0, 1)
  lab = skimage.color.rgb2lab(x)  # independent sRGB/D65 Lab conversion
  lab[..., 0] = 100 * curve(lab[..., 0] / 100)
  expected = (2 * curve(x) + np.clip(skimage.color.lab2rgb(lab), 0, 1)) / 3
  out = distortions.brighten(photo[:16, :16], amount, None)
  assert np.abs(out.astype(int) - np.rint(expected * 255)).max() <= 1


def test_lab_round_trip_and_agreement_with_scikit_image(photo):
  x = photo / 255.0
  lab = distortions._srgb_to_lab(x)
  # scikit-image rounds the sRGB matrix to 6 digits, we use 7: differences of ~0.005 in a and b.
  np.testing.assert_allclose(lab, skimage.color.rgb2lab(x), atol=0.01)
  np.testing.assert_allclose(distortions._lab_to_srgb(lab), x, atol=1e-9)


def test_contrast_change_identity_amount_leaves_the_image_unchanged(photo):
  # The curve's knots (0.3, 0.25 - a/4) and (0.7, 0.75 + a/4) lie on y = x for a = -0.2.
  np.testing.assert_array_equal(distortions.contrast_change(photo, -0.2, None), photo)


@pytest.mark.parametrize("level", range(NUM_LEVELS))
def test_contrast_change_curve_is_monotone_fixes_ends_and_mid_grey(level):
  ramp = np.repeat(np.arange(256, dtype=np.uint8).reshape(16, 16, 1), 3, axis=2)
  lut = distort(ramp, "contrast_change", level)[..., 0].ravel().astype(int)
  assert np.all(np.diff(lut) >= 0)
  assert lut[0] == 0 and lut[255] == 255 and abs(lut[128] - 128) <= 1
  assert lut[64] > 64 and lut[192] < 192  # all levels lower the contrast


@pytest.mark.parametrize("name", NAMES)
def test_tiny_images_work_at_every_level(name):
  tiny = np.random.default_rng(0).integers(0, 256, (2, 3, 3), dtype=np.uint8)
  for level in range(NUM_LEVELS):
    assert distort(tiny, name, level).shape == tiny.shape

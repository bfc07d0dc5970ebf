"""Tests for biqa_jax.data.embedded: scikit-image's bundled photos, distorted, with stand-in MOS."""

import os

import numpy as np
import pytest
import skimage.data
from skimage.data import _fetchers

from biqa_jax.data import embedded
from biqa_jax.data.distortions import DISTORTIONS
from biqa_jax.data.image_set import PRISTINE

SHORT_SIDE = 64
TYPES = ("gaussian_blur", "white_noise", "jpeg")
NOISE = 3.0
SEED = 5


@pytest.fixture(scope="module")
def image_set():
  return embedded.load_embedded(short_side=SHORT_SIDE, distortion_types=TYPES,
                                standin_noise=NOISE, seed=SEED)


def _pristine(s):
  return np.flatnonzero(s.distortion == PRISTINE)


def test_images_are_uint8_rgb_with_shorter_side_short_side(image_set):
  assert len(image_set) == len(embedded.PHOTOS) * (1 + 5 * len(TYPES))
  for name, image in zip(image_set.names, image_set.images):
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[-1] == 3, name
    assert min(image.shape[:2]) == SHORT_SIDE, (name, image.shape)


def test_resize_keeps_the_aspect_ratio_of_the_original_photo(image_set):
  for k, (name, _) in enumerate(embedded.PHOTOS[:3]):  # astronaut, chelsea, coffee
    h, w = getattr(skimage.data, name)().shape[:2]
    scale = SHORT_SIDE / min(h, w)
    assert image_set.images[k].shape[:2] == (round(h * scale), round(w * scale)), name


def test_distorted_images_have_their_references_shape(image_set):
  for i in range(len(image_set)):
    ref = image_set.images[image_set.reference_index[i]]
    assert image_set.images[i].shape == ref.shape, image_set.names[i]


def test_motorcycle_left_and_right_share_a_content_id_and_no_other_photo_does(image_set):
  pristine = _pristine(image_set)
  cid = {image_set.names[i].split("/")[0]: image_set.content_id[i] for i in pristine}
  assert cid["motorcycle_left"] == cid["motorcycle_right"]
  others = [c for n, c in cid.items() if not n.startswith("motorcycle")]
  assert len(set(others)) == len(others) and cid["motorcycle_left"] not in others
  # Every image carries its reference's content id.
  np.testing.assert_array_equal(image_set.content_id,
                                image_set.content_id[image_set.reference_index])


def test_pristine_rows_have_level_0_and_point_to_themselves(image_set):
  pristine = _pristine(image_set)
  assert len(pristine) == len(embedded.PHOTOS)
  np.testing.assert_array_equal(image_set.level[pristine], 0)
  np.testing.assert_array_equal(image_set.reference_index[pristine], pristine)
  distorted = np.flatnonzero(image_set.distortion != PRISTINE)
  assert np.all((image_set.level[distorted] >= 1) & (image_set.level[distorted] <= 5))
  # A distorted image's reference is a pristine row.
  assert np.all(image_set.distortion[image_set.reference_index[distorted]] == PRISTINE)


def test_each_reference_type_level_appears_exactly_once(image_set):
  distorted = np.flatnonzero(image_set.distortion != PRISTINE)
  keys = [(int(image_set.reference_index[i]), int(image_set.distortion[i]),
           int(image_set.level[i])) for i in distorted]
  expected = {(r, t, l) for r in _pristine(image_set) for t in range(len(TYPES))
              for l in range(1, 6)}
  assert len(keys) == len(set(keys)) and set(keys) == expected
  assert image_set.distortion_names == TYPES
  for i in distorted:  # names spell out the same (photo, type, level)
    photo, dname, lvl = image_set.names[i].split("/")
    assert dname == TYPES[image_set.distortion[i]] and int(lvl) == image_set.level[i]
    assert image_set.names[image_set.reference_index[i]] == f"{photo}/pristine/0"


def test_same_seed_gives_identical_images_and_mos(image_set):
  again = embedded.load_embedded(short_side=SHORT_SIDE, distortion_types=TYPES,
                                 standin_noise=NOISE, seed=SEED)
  assert again.names == image_set.names
  for a, b in zip(again.images, image_set.images):
    np.testing.assert_array_equal(a, b)
  np.testing.assert_array_equal(again.mos, image_set.mos)
  np.testing.assert_array_equal(again.std, image_set.std)


def test_other_seed_changes_noise_images_and_mos(image_set):
  other = embedded.load_embedded(short_side=SHORT_SIDE, distortion_types=("white_noise",),
                                 standin_noise=NOISE, seed=SEED + 1)
  mine = [i for i, n in enumerate(image_set.names) if "/white_noise/" in n]
  theirs = [i for i, n in enumerate(other.names) if "/white_noise/" in n]
  assert [image_set.names[i] for i in mine] == [other.names[i] for i in theirs]
  assert not any(np.array_equal(image_set.images[i], other.images[j])
                 for i, j in zip(mine, theirs))
  assert not np.allclose(image_set.mos[mine], other.mos[theirs])


def test_standin_mos_and_std_follow_the_documented_formula(image_set):
  # Docstring: mos = clip(90 - 70 w_type (level/5)^0.8 + c_content + e, 0, 100),
  # c ~ U(-5, 5) per content, e ~ N(0, noise^2) per image, both from default_rng(seed) in that
  # order; std = 6 + 8 (level/5)(1 - level/5). Recomputed row by row.
  rng = np.random.default_rng(SEED)
  offsets = rng.uniform(-5.0, 5.0, size=image_set.num_contents)
  noise = rng.normal(0.0, NOISE, size=len(image_set))
  for i in range(len(image_set)):
    d, lvl = int(image_set.distortion[i]), int(image_set.level[i])
    w = 0.0 if d == PRISTINE else embedded.STANDIN_TYPE_WEIGHT.get(TYPES[d], 1.0)
    mos = min(100.0, max(0.0, 90 - 70 * w * (lvl / 5)**0.8 + offsets[image_set.content_id[i]]
                         + noise[i]))
    std = 6 + 8 * (lvl / 5) * (1 - lvl / 5)
    assert image_set.mos[i] == pytest.approx(mos, abs=1e-4), image_set.names[i]
    assert image_set.std[i] == pytest.approx(std, abs=1e-6), image_set.names[i]
  assert image_set.mos.dtype == np.float32 and image_set.std.dtype == np.float32


def test_unlisted_types_get_weight_one():
  content = np.array([0, 0], np.int32)
  mos, _ = embedded.standin_mos(content, np.array([0, 0], np.int32), np.array([5, 5], np.int32),
                                ("not_in_the_table",), 0.0, np.random.default_rng(0))
  offset = np.random.default_rng(0).uniform(-5.0, 5.0, size=1)[0]
  np.testing.assert_allclose(mos, 90 - 70 + offset, atol=1e-4)


def test_mean_mos_falls_with_level_for_each_type_and_pristine_is_highest(image_set):
  pristine_mean = image_set.mos[_pristine(image_set)].mean()
  for t, name in enumerate(TYPES):
    means = [image_set.mos[(image_set.distortion == t) & (image_set.level == l)].mean()
             for l in range(1, 6)]
    assert np.all(np.diff(means) < 0), (name, means)
    assert pristine_mean > means[0], (name, pristine_mean, means)
  assert np.all((image_set.mos >= 0) & (image_set.mos <= 100))


def test_unknown_distortion_name_error_lists_known_names():
  with pytest.raises(ValueError, match="no_such_blur") as err:
    embedded.load_embedded(short_side=SHORT_SIDE, distortion_types=("jpeg", "no_such_blur"))
  for name in DISTORTIONS:
    assert name in str(err.value)


def test_photos_are_read_from_the_scikit_image_package_and_nothing_is_downloaded(monkeypatch):
  package_dir = os.path.realpath(os.path.dirname(skimage.data.__file__))
  fetched = []
  real_fetch = _fetchers._fetch

  def recording_fetch(data_filename):
    path = real_fetch(data_filename)
    fetched.append(os.path.realpath(path))
    return path

  def no_network(*args, **kwargs):
    raise AssertionError("load_embedded tried to open a network connection")

  monkeypatch.setattr(_fetchers, "_fetch", recording_fetch)
  monkeypatch.setattr("socket.socket.connect", no_network)
  monkeypatch.setattr("socket.create_connection", no_network)
  photos = embedded.reference_photos(16)
  assert [name for name, _, _ in photos] == [name for name, _ in embedded.PHOTOS]
  assert len(fetched) >= len(embedded.PHOTOS) - 1  # the stereo pair is one fetch (or two)
  for path in fetched:
    assert os.path.dirname(path) == package_dir, path

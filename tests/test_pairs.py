"""Tests for biqa_jax.data.pairs: D1 pair types and labels (method.md §2), D2 labels (Eq. 7)."""

import dataclasses
import math

import numpy as np
import pytest
import scipy.stats

from biqa_jax.data import embedded, pairs
from biqa_jax.data.image_set import PRISTINE

TYPES = ("gaussian_blur", "white_noise", "jpeg")


@pytest.fixture(scope="module")
def image_set():
  return embedded.load_embedded(short_side=64, distortion_types=TYPES, seed=0)


@pytest.fixture(scope="module")
def indices(image_set):
  """A training subset with holes: contents 1 and 4 left out, then a quarter of the rest dropped
  (some pristine references among them), so absent images must be redrawn."""
  rng = np.random.default_rng(11)
  kept = np.flatnonzero(~np.isin(image_set.content_id, [1, 4]))
  kept = kept[rng.random(len(kept)) > 0.25]
  assert np.any(image_set.distortion[kept] == PRISTINE)
  assert np.sum(image_set.distortion[kept] == PRISTINE) < np.sum(image_set.distortion == PRISTINE) - 2
  return kept


@pytest.fixture(scope="module")
def scores(image_set):
  """[N, 3] scores with many ties (small integers), so ``>=`` and ``>`` give different labels."""
  return np.random.default_rng(3).integers(0, 4, size=(len(image_set), 3)).astype(np.float32)


def _pair_type(s, x, y):
  """The D1 type of pair (x, y) by the definitions of method.md §2, or None if it fits none."""
  px, py = s.distortion[x] == PRISTINE, s.distortion[y] == PRISTINE
  if s.reference_index[x] == s.reference_index[y]:
    if px or py or s.level[x] == s.level[y]:
      return None
    return "same_type" if s.distortion[x] == s.distortion[y] else "same_content"
  if s.content_id[x] == s.content_id[y]:
    return None
  if px != py:
    return "with_pristine"
  if not px and s.distortion[x] != s.distortion[y] and s.level[x] != s.level[y]:
    return "cross_content"
  return None


def _check_definition(s, kind, x, y):
  rx, ry = s.reference_index[x], s.reference_index[y]
  dx, dy, lx, ly = s.distortion[x], s.distortion[y], s.level[x], s.level[y]
  if kind == "same_type":
    assert np.all((rx == ry) & (dx == dy) & (dx != PRISTINE) & (lx != ly))
  elif kind == "same_content":
    assert np.all((rx == ry) & (dx != dy) & (dx != PRISTINE) & (dy != PRISTINE) & (lx != ly))
  elif kind == "cross_content":
    assert np.all((s.content_id[x] != s.content_id[y]) & (dx != dy) & (dx != PRISTINE)
                  & (dy != PRISTINE) & (lx != ly))
  elif kind == "with_pristine":
    assert np.all((s.content_id[x] != s.content_id[y])
                  & ((dx == PRISTINE) != (dy == PRISTINE)))


@pytest.mark.parametrize("kind", pairs.D1_PAIR_TYPES)
def test_every_d1_pair_satisfies_its_type_definition(image_set, indices, scores, kind):
  p = pairs.sample_d1_pairs(image_set, indices, scores, 1500, seed=0, pair_types=(kind,))
  assert len(p) == 1500
  _check_definition(image_set, kind, p.x, p.y)


@pytest.mark.parametrize("kind", pairs.D1_PAIR_TYPES)
def test_private_draw_gives_pairs_of_its_type_or_marks_them_absent(image_set, indices, kind):
  _, contents, pristine, table = pairs._distortion_table(image_set, indices)
  x, y = pairs._draw_d1(np.random.default_rng(0), kind, contents, pristine, table, 3000)
  ok = (x >= 0) & (y >= 0)
  assert 0.2 < ok.mean()  # most draws are usable; the rest are redrawn by the caller
  _check_definition(image_set, kind, x[ok], y[ok])


def test_default_pair_types_come_in_equal_shares(image_set, indices, scores):
  p = pairs.sample_d1_pairs(image_set, indices, scores, 1003, seed=1)
  kinds = [_pair_type(image_set, x, y) for x, y in zip(p.x, p.y)]
  counts = {k: kinds.count(k) for k in pairs.D1_PAIR_TYPES}
  assert None not in kinds
  assert counts == {"same_type": 251, "same_content": 251, "cross_content": 251,
                    "with_pristine": 250}


def test_d1_labels_are_score_x_at_least_score_y_per_annotator(image_set, indices, scores):
  p = pairs.sample_d1_pairs(image_set, indices, scores, 800, seed=2)
  assert p.labels.shape == (800, 3) and p.labels.dtype == np.uint8
  for k in range(len(p)):
    for j in range(3):
      assert p.labels[k, j] == int(scores[p.x[k], j] >= scores[p.y[k], j]), (k, j)
  ties = scores[p.x] == scores[p.y]
  assert ties.any() and np.all(p.labels[ties] == 1)


def test_d1_uses_only_images_of_the_given_indices(image_set, indices, scores):
  p = pairs.sample_d1_pairs(image_set, indices, scores, 2000, seed=3)
  assert np.all(np.isin(p.x, indices)) and np.all(np.isin(p.y, indices))


@pytest.mark.parametrize("kind", pairs.D1_PAIR_TYPES)
def test_d1_order_inside_a_pair_is_balanced(image_set, indices, scores, kind):
  p = pairs.sample_d1_pairs(image_set, indices, scores, 2000, seed=4, pair_types=(kind,))
  if kind == "with_pristine":
    x_first = image_set.distortion[p.x] == PRISTINE  # the drawn order puts the pristine in y
  else:
    x_first = image_set.level[p.x] < image_set.level[p.y]
  assert 0.4 < x_first.mean() < 0.6, x_first.mean()


@pytest.mark.parametrize("num_pairs", [0, 1, 3, 7, 1001])
def test_d1_returns_exactly_the_requested_number_of_pairs(image_set, indices, scores, num_pairs):
  p = pairs.sample_d1_pairs(image_set, indices, scores, num_pairs, seed=5)
  assert len(p) == len(p.x) == len(p.y) == len(p.labels) == num_pairs


def test_d1_is_deterministic_by_seed(image_set, indices, scores):
  a = pairs.sample_d1_pairs(image_set, indices, scores, 500, seed=6)
  b = pairs.sample_d1_pairs(image_set, indices, scores, 500, seed=6)
  c = pairs.sample_d1_pairs(image_set, indices, scores, 500, seed=7)
  for field in ("x", "y", "labels"):
    np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
  assert not np.array_equal(a.x, c.x)


def test_d1_nan_annotator_score_is_an_error_naming_the_image(image_set, indices, scores):
  bad = scores.copy()
  i = indices[7]
  bad[i, 1] = np.nan
  with pytest.raises(ValueError, match="NaN") as err:
    pairs.sample_d1_pairs(image_set, indices, bad, 100, seed=0)
  assert image_set.names[i] in str(err.value)


def test_d1_ignores_nan_scores_of_images_outside_the_indices(image_set, indices, scores):
  bad = scores.copy()
  outside = np.setdiff1d(np.arange(len(image_set)), indices)
  bad[outside] = np.nan
  p = pairs.sample_d1_pairs(image_set, indices, bad, 200, seed=0)
  np.testing.assert_array_equal(p.labels, pairs.sample_d1_pairs(image_set, indices, scores, 200,
                                                                seed=0).labels)


def test_d1_unknown_pair_type_is_an_error_even_with_a_zero_share(image_set, indices, scores):
  with pytest.raises(ValueError, match="same_reference"):
    pairs.sample_d1_pairs(image_set, indices, scores, 1, seed=0,
                          pair_types=("same_type", "same_reference"))


def test_d1_pair_types_across_types_need_two_distortion_types(scores):
  one_type = embedded.load_embedded(short_side=32, distortion_types=("jpeg",), seed=0)
  idx = np.arange(len(one_type))
  with pytest.raises(ValueError, match="at least 2 distortion types"):
    pairs.sample_d1_pairs(one_type, idx, scores[:len(one_type)], 10, seed=0,
                          pair_types=("same_content",))
  p = pairs.sample_d1_pairs(one_type, idx, scores[:len(one_type)], 40, seed=0,
                            pair_types=("same_type", "with_pristine"))
  assert len(p) == 40


# --- D2 ----------------------------------------------------------------------------------------


def test_d2_labels_equal_eq7_computed_pair_by_pair(image_set, indices):
  p = pairs.sample_d2_pairs(image_set, indices, 300, seed=0)
  assert p.labels.shape == (300,) and p.labels.dtype == np.float32
  for x, y, label in zip(p.x, p.y, p.labels):
    mu_x, mu_y = float(image_set.mos[x]), float(image_set.mos[y])
    s_x, s_y = float(image_set.std[x]), float(image_set.std[y])
    expected = scipy.stats.norm.cdf((mu_x - mu_y) / math.sqrt(s_x**2 + s_y**2))
    assert label == pytest.approx(expected, abs=1e-5), (x, y)


def test_d2_pairs_are_of_distinct_images_from_the_indices_only(image_set, indices):
  p = pairs.sample_d2_pairs(image_set, indices, 5000, seed=1)
  assert len(p) == 5000
  assert np.all(p.x != p.y)
  assert np.all(np.isin(p.x, indices)) and np.all(np.isin(p.y, indices))
  # Uniform over the subset: with 5000 pairs every one of its ~100 images is used.
  assert set(np.concatenate([p.x, p.y]).tolist()) == set(indices.tolist())


def test_d2_is_deterministic_by_seed(image_set, indices):
  a = pairs.sample_d2_pairs(image_set, indices, 200, seed=2)
  b = pairs.sample_d2_pairs(image_set, indices, 200, seed=2)
  c = pairs.sample_d2_pairs(image_set, indices, 200, seed=3)
  np.testing.assert_array_equal(a.x, b.x)
  np.testing.assert_array_equal(a.labels, b.labels)
  assert not np.array_equal(a.x, c.x)


def test_d2_nan_mos_is_an_error_naming_the_image(image_set, indices):
  mos = image_set.mos.copy()
  mos[indices[4]] = np.nan
  broken = dataclasses.replace(image_set, mos=mos)
  with pytest.raises(ValueError, match="mos") as err:
    pairs.sample_d2_pairs(broken, indices, 10, seed=0)
  assert image_set.names[indices[4]] in str(err.value)


def test_d2_needs_two_images(image_set):
  with pytest.raises(ValueError, match="at least 2 images"):
    pairs.sample_d2_pairs(image_set, np.array([3]), 10, seed=0)

"""Tests for biqa_jax.data.splits: the reference-disjoint train/test split (method.md §3)."""

import numpy as np
import pytest

from biqa_jax.data.splits import reference_disjoint_split

# 10 contents with uneven, interleaved, non-contiguous ids (a shared content appears many times).
CONTENT_ID = np.array([7, 3, 3, 12, 0, 7, 5, 9, 9, 9, 1, 2, 12, 40, 3, 0, 22, 22, 5, 1], np.int32)


def test_no_content_is_on_both_sides():
  for seed in range(20):
    train, test = reference_disjoint_split(CONTENT_ID, 0.3, seed)
    assert not set(CONTENT_ID[train]) & set(CONTENT_ID[test]), seed


def test_every_index_is_on_exactly_one_side():
  for seed in range(20):
    train, test = reference_disjoint_split(CONTENT_ID, 0.3, seed)
    both = np.concatenate([train, test])
    np.testing.assert_array_equal(np.sort(both), np.arange(len(CONTENT_ID)))


@pytest.mark.parametrize("fraction,num_contents,expected_test", [
    (0.2, 10, 2), (0.5, 10, 5), (0.34, 3, 1), (0.2, 8, 2),
    (0.01, 3, 1),   # round() gives 0: at least one content is tested
    (0.99, 3, 2),   # round() gives 3: at least one content is left for training
])
def test_test_side_holds_round_fraction_of_contents_with_one_on_each_side(
    fraction, num_contents, expected_test):
  content_id = np.repeat(np.arange(num_contents) * 3 + 1, 4)  # 4 images per content
  train, test = reference_disjoint_split(content_id, fraction, seed=1)
  assert len(np.unique(content_id[test])) == expected_test
  assert len(np.unique(content_id[train])) == num_contents - expected_test


def test_split_is_deterministic_per_seed():
  a = reference_disjoint_split(CONTENT_ID, 0.3, seed=4)
  b = reference_disjoint_split(CONTENT_ID, 0.3, seed=4)
  np.testing.assert_array_equal(a[0], b[0])
  np.testing.assert_array_equal(a[1], b[1])


def test_different_seeds_give_different_splits():
  test_sets = {tuple(reference_disjoint_split(CONTENT_ID, 0.3, seed)[1]) for seed in range(10)}
  assert len(test_sets) >= 5


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.2, 1.5])
def test_fraction_outside_open_unit_interval_is_an_error(fraction):
  with pytest.raises(ValueError, match="test_fraction"):
    reference_disjoint_split(CONTENT_ID, fraction, seed=0)


def test_fewer_than_two_contents_is_an_error():
  with pytest.raises(ValueError, match="at least 2 contents"):
    reference_disjoint_split(np.array([4, 4, 4]), 0.5, seed=0)

"""Tests for biqa_jax.data.pipeline: config -> datasets, and deterministic batches of crops."""

import numpy as np
import pytest

from biqa_jax.data import pipeline
from biqa_jax.data.image_set import PRISTINE, ImageSet
from biqa_jax.data.pairs import Pairs
from configs import baseline


@pytest.fixture(scope="module")
def config():
  return baseline.get_config("local")


@pytest.fixture(scope="module")
def datasets(config):
  return pipeline.load_datasets(config)


def _tiny_datasets(num_images=6, num_pairs=24, seed=0):
  """Random-noise images of different odd sizes (every window is unique) and random pairs."""
  rng = np.random.default_rng(seed)
  sizes = [(9 + k, 7 + 2 * k) for k in range(num_images)]
  images = [rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8) for h, w in sizes]
  n = num_images
  image_set = ImageSet(images=images, names=[f"noise{k}/pristine/0" for k in range(n)],
                       content_id=np.arange(n, dtype=np.int32),
                       reference_index=np.arange(n, dtype=np.int32),
                       distortion=np.full(n, PRISTINE, np.int32), level=np.zeros(n, np.int32),
                       mos=np.linspace(10, 90, n).astype(np.float32),
                       std=np.ones(n, np.float32), distortion_names=())
  x = rng.integers(0, n, num_pairs).astype(np.int32)
  y = ((x + rng.integers(1, n, num_pairs)) % n).astype(np.int32)
  d1 = Pairs(x, y, rng.integers(0, 2, size=(num_pairs, 2)).astype(np.uint8))
  d2 = Pairs(y, x, rng.random(num_pairs).astype(np.float32))
  all_idx = np.arange(n)
  return pipeline.Datasets(image_set, all_idx, all_idx, d1, d2, d2)


def _positions(crop, image):
  """Every (row, col) where ``crop`` sits in ``image``, by brute force."""
  s = crop.shape[0]
  h, w = image.shape[:2]
  return [(r, c) for r in range(h - s + 1) for c in range(w - s + 1)
          if np.array_equal(image[r:r + s, c:c + s], crop)]


@pytest.mark.parametrize("stage", ["stage1", "stage2"])
def test_training_batch_is_a_pure_function_of_seed_stage_and_step(datasets, config, stage):
  args = dict(datasets=datasets, batch_size=4, crop_size=config.data.crop_size)
  first = pipeline.training_batch(stage, 0, 17, **args)
  again = pipeline.training_batch(stage, 0, 17, **args)
  for a, b in zip(first, again):
    np.testing.assert_array_equal(a, b)
  next_step = pipeline.training_batch(stage, 0, 18, **args)
  other_seed = pipeline.training_batch(stage, 1, 17, **args)
  assert not np.array_equal(first[0], next_step[0])
  assert not np.array_equal(first[0], other_seed[0])


def test_stages_draw_different_batches_at_the_same_step():
  tiny = _tiny_datasets(num_pairs=24)  # d1 and d2 of the same length: only the stage differs
  one = pipeline.pair_batch("stage1", 0, 3, tiny.d1, 8)
  two = pipeline.pair_batch("stage2", 0, 3, tiny.d2, 8)
  assert not np.array_equal(one, two)


def test_one_epoch_visits_every_pair_at_most_once_in_disjoint_batches(datasets):
  batch = 16
  per_epoch = pipeline.steps_per_epoch(len(datasets.d1), batch)
  epoch = [pipeline.pair_batch("stage1", 0, step, datasets.d1, batch) for step in range(per_epoch)]
  assert all(len(b) == batch for b in epoch)
  seen = np.concatenate(epoch)
  assert len(np.unique(seen)) == len(seen) == per_epoch * batch
  assert np.all((seen >= 0) & (seen < len(datasets.d1)))
  next_epoch = pipeline.pair_batch("stage1", 0, per_epoch, datasets.d1, batch)
  assert not np.array_equal(next_epoch, epoch[0])  # reshuffled, not replayed


def test_remainder_pairs_are_dropped_and_each_epoch_still_disjoint():
  tiny = _tiny_datasets(num_pairs=23)
  per_epoch = pipeline.steps_per_epoch(23, 5)
  assert per_epoch == 4
  for e in range(3):
    seen = np.concatenate([pipeline.pair_batch("stage2", 2, e * per_epoch + s, tiny.d2, 5)
                           for s in range(per_epoch)])
    assert len(np.unique(seen)) == len(seen) == 20


def test_crops_are_uint8_windows_of_their_pairs_images_with_matching_labels():
  tiny = _tiny_datasets()
  size, batch = 5, 4
  edges = set()
  for stage, stage_pairs in (("stage1", tiny.d1), ("stage2", tiny.d2)):
    for step in range(12):
      cx, cy, labels = pipeline.training_batch(stage, 3, step, tiny, batch, size)
      assert cx.shape == cy.shape == (batch, size, size, 3)
      assert cx.dtype == cy.dtype == np.uint8
      which = pipeline.pair_batch(stage, 3, step, stage_pairs, batch)
      np.testing.assert_array_equal(labels, stage_pairs.labels[which])
      for k, pair in enumerate(which):
        for crop, image_index in ((cx[k], stage_pairs.x[pair]), (cy[k], stage_pairs.y[pair])):
          image = tiny.image_set.images[image_index]
          found = _positions(crop, image)
          assert len(found) == 1, (stage, step, k)
          (r, c), (h, w) = found[0], image.shape[:2]
          edges |= {name for name, hit in (("top", r == 0), ("bottom", r == h - size),
                                           ("left", c == 0), ("right", c == w - size)) if hit}
  # Offsets cover the whole image, the last row and column included (no off-by-one).
  assert edges == {"top", "bottom", "left", "right"}


def test_crop_as_large_as_the_image_is_the_whole_image():
  image = _tiny_datasets().image_set.images[0][:7]  # 7 x 7
  crops = pipeline.random_crops([image], np.array([0, 0]), 7, np.random.default_rng(0))
  for crop in crops:
    np.testing.assert_array_equal(crop, image)


def test_check_crop_size_error_names_an_image_and_the_crop_size():
  tiny = _tiny_datasets()
  pipeline.check_crop_size(tiny.image_set, np.arange(6), 7)  # smallest image is 9 x 7
  with pytest.raises(ValueError, match="crop_size=9") as err:
    pipeline.check_crop_size(tiny.image_set, np.arange(6), 9)
  assert "noise0/pristine/0" in str(err.value) and "9x7" in str(err.value)
  pipeline.check_crop_size(tiny.image_set, np.arange(1, 6), 9)  # only indices are checked


def test_steps_per_epoch_errors_when_fewer_pairs_than_a_batch():
  assert pipeline.steps_per_epoch(33, 16) == 2
  assert pipeline.steps_per_epoch(16, 16) == 1
  with pytest.raises(ValueError, match="15 pairs make no full batch of 16"):
    pipeline.steps_per_epoch(15, 16)


def test_local_config_gives_a_reference_disjoint_split(datasets):
  s = datasets.image_set
  train, test = datasets.train_indices, datasets.test_indices
  assert len(train) and len(test)
  assert not set(train.tolist()) & set(test.tolist())
  assert not set(s.content_id[train].tolist()) & set(s.content_id[test].tolist())
  np.testing.assert_array_equal(np.sort(np.concatenate([train, test])), np.arange(len(s)))


def test_local_config_d1_has_one_label_column_per_annotator_inside_train(datasets, config):
  d1 = datasets.d1
  assert d1.labels.shape == (config.stage1.num_pairs, len(config.stage1.annotators))
  assert d1.labels.dtype == np.uint8 and set(np.unique(d1.labels)) <= {0, 1}
  assert np.all(np.isin(d1.x, datasets.train_indices))
  assert np.all(np.isin(d1.y, datasets.train_indices))


def test_local_config_d2_labels_are_probabilities_inside_train(datasets, config):
  d2 = datasets.d2
  assert d2.labels.shape == (config.stage2.num_pairs.embedded,)
  assert np.all((d2.labels >= 0) & (d2.labels <= 1))
  assert np.all(np.isin(d2.x, datasets.train_indices))
  assert np.all(np.isin(d2.y, datasets.train_indices))


def test_local_config_test_pairs_stay_inside_the_test_split(datasets, config):
  tp = datasets.test_pairs
  assert len(tp) == config.eval.num_pairs
  assert np.all(np.isin(tp.x, datasets.test_indices))
  assert np.all(np.isin(tp.y, datasets.test_indices))
  assert np.all((tp.labels >= 0) & (tp.labels <= 1))


def test_local_config_images_fit_the_crop_size(datasets, config):
  pipeline.check_crop_size(datasets.image_set, datasets.train_indices, config.data.crop_size)
  assert {min(im.shape[:2]) for im in datasets.image_set.images} == {
      config.data.embedded.short_side}


def test_unknown_data_source_is_an_error():
  bad = baseline.get_config("local")
  bad.data.source = "kadid10k_on_disk"
  with pytest.raises(ValueError, match="kadid10k_on_disk"):
    pipeline.load_datasets(bad)

"""biqa_jax.data.pool: the pool file format, its checks, and the embedded demo pool."""

import os

import numpy as np
import pytest

from biqa_jax.data import pool as pool_lib


def small_pool(n=6, m=2, **changes):
  rng = np.random.default_rng(0)
  fields = dict(scores=rng.normal(size=(n, m)), model_names=[f"m{j}" for j in range(m)],
                directions=[1, -1][:m] + [1] * (m - 2), image_id=[f"img{i}" for i in range(n)],
                path=[f"images/img{i}.png" for i in range(n)], content_id=np.arange(n) // 2,
                distortion_type=np.arange(n) % 3, level=np.arange(n) % 5 + 1,
                mos=rng.uniform(0, 100, n), mos_std=np.full(n, 5.0),
                distortion_names=("blur", "noise", "jpeg"))
  fields.update(changes)
  return pool_lib.Pool(**fields)


def test_save_load_round_trip_keeps_every_field_and_resolves_relative_paths(tmp_path):
  pool = small_pool()
  pool.scores[1, 0] = np.nan  # single NaN scores are allowed (gMAD excludes them)
  written = pool_lib.save_pool(str(tmp_path / "sub" / "pool"), pool)
  assert written.endswith("pool.npz")
  loaded = pool_lib.load_pool(written)
  np.testing.assert_array_equal(loaded.scores, pool.scores.astype(np.float32))
  assert loaded.scores.dtype == np.float32 and loaded.directions.tolist() == [1, -1]
  for name in ("image_id", "content_id", "distortion_type", "level", "mos", "mos_std"):
    np.testing.assert_array_equal(getattr(loaded, name), getattr(pool, name))
  assert loaded.model_names == ("m0", "m1") and loaded.distortion_names == ("blur", "noise", "jpeg")
  assert loaded.path[2] == os.path.join(str(tmp_path / "sub"), "images", "img2.png")
  assert loaded.nonfinite_per_model().tolist() == [1, 0]


@pytest.mark.parametrize("changes, message", [
    ({"content_id": np.arange(5)}, "content_id has shape \\(5,\\), expected \\(6,\\)"),
    ({"model_names": ["a"]}, "2 score columns but 1 model names"),
    ({"directions": [1, 0]}, "directions must be \\+1"),
    ({"image_id": ["a"] * 6}, "duplicates"),
    ({"scores": np.zeros(6)}, "must be \\[N images, M models\\]"),
])
def test_inconsistent_pools_raise_readable_errors(changes, message):
  with pytest.raises(ValueError, match=message):
    small_pool(**changes)


def test_load_pool_names_the_file_in_its_errors(tmp_path):
  path = str(tmp_path / "p.npz")
  with pytest.raises(ValueError, match="does not exist"):
    pool_lib.load_pool(path)
  pool = small_pool()
  pool.scores[:, 1] = np.inf
  pool_lib.save_pool(path, pool)
  with pytest.raises(ValueError, match=f"'{path}'.*'m1'.*no finite score"):
    pool_lib.load_pool(path)
  np.savez(path, scores=np.zeros((2, 2)))
  with pytest.raises(ValueError, match=f"'{path}' lacks the field"):
    pool_lib.load_pool(path)
  fields = dict(np.load(pool_lib.save_pool(path, small_pool())))
  fields["level"] = fields["level"][:3]
  np.savez(path, **fields)
  with pytest.raises(ValueError, match=f"pool file '{path}': Pool.level has shape"):
    pool_lib.load_pool(path)


def test_embedded_pool_writes_its_images_and_matches_the_embedded_data(tmp_path):
  from biqa_jax.data import embedded, images

  pool = pool_lib.embedded_pool(str(tmp_path), short_side=48,
                                distortion_types=("jpeg", "white_noise"))
  data = embedded.load_embedded(48, ("jpeg", "white_noise"))
  distorted = np.flatnonzero(data.level > 0)
  assert len(pool) == distorted.size == 9 * 2 * 5  # references are not in the pool
  assert pool.model_names == ("level_order", "psnr", "ssim") and np.all(pool.directions == 1)
  np.testing.assert_array_equal(pool.mos, data.mos[distorted])
  np.testing.assert_array_equal(pool.level, data.level[distorted])
  assert np.all(np.isfinite(pool.scores))
  np.testing.assert_array_equal(pool.scores[:, 0], -pool.level)  # level_order = -level
  loaded = pool_lib.load_pool(str(tmp_path / "pool.npz"))
  i = 7
  np.testing.assert_array_equal(images.load_image(loaded.path[i]), data.images[distorted[i]])

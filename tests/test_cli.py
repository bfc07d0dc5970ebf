"""``biqa score``: printed scores match the restored model, batching, image modes, clear errors."""

import csv
import io
import json
import os
import re
import subprocess
import sys

import jax.numpy as jnp
import numpy as np
import pytest
from conftest import REPO_ROOT, smoke_config
from PIL import Image

from biqa_jax import cli, evaluate, train

TOL = 1e-5
# Interleaved sizes (H, W): five 32x40 images make a full batch of 3 plus a padded one of 2, and
# 24x24 is the network's minimum (3 SPP rows after three 2x pools).
SIZES = [(32, 40), (24, 24), (32, 40), (25, 37), (32, 40), (32, 40), (32, 40)]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
  workdir = str(tmp_path_factory.mktemp("trained"))
  train.train_and_evaluate(smoke_config(stage1_steps=2, stage2_steps=2), workdir)
  return workdir


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
  """RGB PNG files of the interleaved ``SIZES``, smooth gradients plus noise."""
  folder = tmp_path_factory.mktemp("photos")
  rng = np.random.default_rng(0)
  paths = []
  for i, (h, w) in enumerate(SIZES):
    ramp = np.linspace(0, 200, w)[None, :, None] + np.linspace(0, 50, h)[:, None, None]
    pixels = np.clip(ramp + rng.normal(0, 20 + 5 * i, (h, w, 3)), 0, 255).astype(np.uint8)
    path = str(folder / f"photo{i}.png")
    Image.fromarray(pixels).save(path)
    paths.append(path)
  return paths


@pytest.fixture(scope="module")
def reference(workdir, photos):
  return _reference_scores(workdir, photos)


def _reference_scores(checkpoint, paths):
  """Restored model applied to each file on its own: PIL RGB, float / 255, full size."""
  apply_fn, params, _ = evaluate.load_trained_model(checkpoint)
  scores = []
  for path in paths:
    x = np.asarray(Image.open(path).convert("RGB"), np.float32) / 255.0
    scores.append(float(np.asarray(apply_fn(params["model"], jnp.asarray(x[None])))[0]))
  return np.array(scores)


def _score_csv(capsys, paths, checkpoint, *flags):
  code = cli.main(["score", *paths, "--checkpoint", checkpoint, *flags])
  out = capsys.readouterr().out
  assert code == 0
  rows = list(csv.reader(io.StringIO(out)))
  assert rows[0] == ["image", "score"]
  assert [r[0] for r in rows[1:]] == list(paths)
  return np.array([float(r[1]) for r in rows[1:]])


def test_csv_scores_equal_the_restored_model_applied_to_each_image_in_input_order(
    workdir, photos, reference, capsys):
  printed = _score_csv(capsys, photos, workdir, "--batch-size", "3")
  np.testing.assert_allclose(printed, reference, rtol=0, atol=TOL)


def test_json_scores_equal_the_restored_model_applied_to_each_image_in_input_order(
    workdir, photos, reference, capsys):
  assert cli.main(["score", *photos, "--checkpoint", workdir, "--json"]) == 0
  records = json.loads(capsys.readouterr().out)
  assert [r["image"] for r in records] == photos
  np.testing.assert_allclose([r["score"] for r in records], reference, rtol=0, atol=TOL)


def test_batch_size_one_and_three_give_the_same_scores(workdir, photos, reference, capsys):
  assert len(set(np.round(reference, 4))) == len(photos)  # distinct, so mix-ups would show
  one = _score_csv(capsys, photos, workdir, "--batch-size", "1")
  three = _score_csv(capsys, photos, workdir, "--batch-size", "3")
  np.testing.assert_allclose(one, three, rtol=0, atol=TOL)
  np.testing.assert_allclose(one, reference, rtol=0, atol=TOL)


def test_workdir_and_its_stage2_checkpoints_folder_give_the_same_scores(workdir, photos, capsys):
  from_workdir = _score_csv(capsys, photos[:2], workdir)
  from_folder = _score_csv(capsys, photos[:2], os.path.join(workdir, "stage2", "checkpoints"))
  np.testing.assert_array_equal(from_workdir, from_folder)


def test_module_and_installed_console_script_print_the_reference_scores(
    workdir, photos, reference):
  biqa = os.path.join(os.path.dirname(sys.executable), "biqa")
  assert os.path.exists(biqa), f"console script not installed next to {sys.executable}"
  # Both at once: each spends most of its time importing JAX and compiling.
  procs = [subprocess.Popen([*cmd, "score", *photos[:2], "--checkpoint", workdir, "--json"],
                            cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
           for cmd in ([sys.executable, "-m", "biqa_jax.cli"], [biqa])]
  for proc in procs:
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, (proc.args, stderr[-3000:])
    records = json.loads(stdout)
    assert [r["image"] for r in records] == photos[:2]
    np.testing.assert_allclose([r["score"] for r in records], reference[:2], rtol=0, atol=TOL)


def _converted_pairs(folder):
  """``[(file in another mode, explicit RGB PNG of what it should load as)]``, all 32x40."""
  rng = np.random.default_rng(1)
  h, w = 32, 40
  pairs = []

  def save(name, img, expected_rgb):
    path, rgb_path = str(folder / f"{name}.png"), str(folder / f"{name}_rgb.png")
    img.save(path)
    Image.fromarray(expected_rgb.astype(np.uint8), "RGB").save(rgb_path)
    pairs.append((path, rgb_path))

  grey = rng.integers(0, 256, (h, w), dtype=np.uint8)
  save("grey", Image.fromarray(grey, "L"), np.repeat(grey[:, :, None], 3, axis=2))

  rgba = rng.integers(0, 256, (h, w, 4), dtype=np.uint8)
  c, a = rgba[..., :3].astype(np.float64), rgba[..., 3:].astype(np.float64)
  save("rgba", Image.fromarray(rgba, "RGBA"), np.rint((c * a + 255 * (255 - a)) / 255))

  palette_img = Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).quantize(16)
  palette = np.array(palette_img.getpalette(), np.uint8).reshape(-1, 3)
  save("palette", palette_img, palette[np.asarray(palette_img)])

  grey16 = rng.integers(0, 65536, (h, w), dtype=np.uint16)
  # 16-bit grey maps to 8 bits by round(x / 257) (65535 -> 255); 257 is odd, so no ties.
  save("grey16", Image.fromarray(grey16), np.repeat(np.rint(grey16 / 257.0)[:, :, None], 3, axis=2))
  return pairs


def test_grey_rgba_palette_and_16bit_pngs_score_as_their_explicit_rgb_versions(
    workdir, tmp_path, capsys):
  pairs = _converted_pairs(tmp_path)
  assert [Image.open(p).mode for p, _ in pairs][:3] == ["L", "RGBA", "P"]
  assert Image.open(pairs[3][0]).mode in ("I;16", "I")
  paths = [p for pair in pairs for p in pair]
  scores = _score_csv(capsys, paths, workdir).reshape(-1, 2)
  assert np.all(np.isfinite(scores))
  for (path, _), (converted, explicit) in zip(pairs, scores):
    assert converted == pytest.approx(explicit, abs=TOL), path
  np.testing.assert_allclose(scores[:, 1], _reference_scores(workdir, paths[1::2]), rtol=0, atol=TOL)


def _truncated(tmp_path, fmt):
  path = str(tmp_path / f"cut.{fmt.lower()}")
  pixels = np.random.default_rng(2).integers(0, 256, (64, 64, 3), dtype=np.uint8)
  Image.fromarray(pixels).save(path, format=fmt)
  data = open(path, "rb").read()
  with open(path, "wb") as f:
    f.write(data[: len(data) // 2])
  return path


def _bad_image(tmp_path, kind):
  if kind == "truncated_jpeg":
    return _truncated(tmp_path, "JPEG"), "truncated or corrupt"
  if kind == "truncated_png":
    return _truncated(tmp_path, "PNG"), "truncated or corrupt"
  if kind == "random_bytes":
    path = str(tmp_path / "noise.jpg")
    with open(path, "wb") as f:
      f.write(np.random.default_rng(3).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    return path, "convert it to PNG"
  if kind == "missing":
    return str(tmp_path / "no_such_image.png"), "does not exist"
  if kind == "too_small":
    path = str(tmp_path / "small.png")
    Image.fromarray(np.zeros((23, 60, 3), np.uint8)).save(path)
    return path, r"23x60 px.*minimum 24x24.*use a larger image"
  raise ValueError(kind)


@pytest.mark.parametrize("kind", ["truncated_jpeg", "truncated_png", "random_bytes", "missing",
                                  "too_small"])
def test_bad_image_exits_2_with_a_message_naming_the_file_and_the_fix(
    workdir, photos, tmp_path, capsys, kind):
  path, fix = _bad_image(tmp_path, kind)
  code = cli.main(["score", photos[0], path, "--checkpoint", workdir])
  captured = capsys.readouterr()
  assert code == 2
  assert captured.out == ""  # no partial table
  assert path in captured.err
  assert captured.err.startswith("biqa: error:")
  assert re.search(fix, captured.err, flags=re.S), captured.err


@pytest.mark.parametrize("kind", ["empty", "missing"])
def test_bad_checkpoint_dir_exits_2_with_a_message_naming_it_and_the_fix(
    photos, tmp_path, capsys, kind):
  checkpoint = str(tmp_path if kind == "empty" else tmp_path / "no_such_run")
  code = cli.main(["score", photos[0], "--checkpoint", checkpoint])
  captured = capsys.readouterr()
  assert code == 2
  assert captured.out == ""
  assert checkpoint in captured.err
  fix = "Train first" if kind == "empty" else "pass a training --workdir"
  assert fix in captured.err, captured.err


@pytest.mark.parametrize("value", ["0", "-1", "two"])
def test_batch_size_that_is_not_a_positive_integer_exits_2_naming_the_option(
    workdir, photos, capsys, value):
  # -1 used to print a score of 0 for every image (no batches at all), 0 a ValueError traceback.
  with pytest.raises(SystemExit) as exit_info:
    cli.main(["score", photos[0], "--checkpoint", workdir, "--batch-size", value])
  captured = capsys.readouterr()
  assert exit_info.value.code == 2
  assert captured.out == ""
  assert "--batch-size" in captured.err and "positive integer" in captured.err

"""Tests for biqa_jax.data.images: every image is made here, in tmp_path, by Pillow or by hand."""

import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageFile

from biqa_jax.data.images import ImageError, check_finite, check_min_size, load_image, to_float


def _rgb(h=6, w=5, seed=0):
  return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _png_by_hand(path, array_be16, color_type):
  """Writes a 16-bit PNG without Pillow (which cannot write 16-bit RGB): ``array_be16`` is
  ``[H, W, C]`` big-endian uint16, ``color_type`` 2 (RGB) or 6 (RGBA)."""
  h, w = array_be16.shape[:2]

  def chunk(tag, data):
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

  raw = b"".join(b"\x00" + array_be16[i].astype(">u2").tobytes() for i in range(h))
  path.write_bytes(b"\x89PNG\r\n\x1a\n"
                   + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, color_type, 0, 0, 0))
                   + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def test_rgb_png_round_trip_is_exact(tmp_path):
  x = _rgb()
  Image.fromarray(x).save(tmp_path / "a.png")
  y = load_image(tmp_path / "a.png")
  assert y.dtype == np.uint8 and y.shape == x.shape
  np.testing.assert_array_equal(y, x)


def test_rgb_jpeg_round_trip_is_close_to_the_original(tmp_path):
  x = np.full((32, 32, 3), (200, 120, 40), np.uint8)
  Image.fromarray(x).save(tmp_path / "a.jpg", quality=95)
  y = load_image(str(tmp_path / "a.jpg"))
  assert y.dtype == np.uint8 and y.shape == x.shape
  assert np.abs(y.astype(int) - x).max() <= 3


def test_grayscale_is_replicated_to_three_equal_channels(tmp_path):
  g = _rgb()[..., 0]
  Image.fromarray(g, "L").save(tmp_path / "g.png")
  y = load_image(tmp_path / "g.png")
  assert y.shape == g.shape + (3,)
  for c in range(3):
    np.testing.assert_array_equal(y[..., c], g)


def test_one_bit_image_loads_as_black_and_white(tmp_path):
  bits = np.array([[0, 1, 1], [1, 0, 0]], bool)
  Image.fromarray(bits).save(tmp_path / "b.png")
  y = load_image(tmp_path / "b.png")
  np.testing.assert_array_equal(y[..., 1], np.where(bits, 255, 0))


def test_rgba_is_composited_on_white_by_alpha(tmp_path):
  rgba = np.array([[[10, 20, 30, 0], [10, 20, 30, 255], [10, 20, 30, 128], [200, 0, 50, 64]]],
                  np.uint8)
  Image.fromarray(rgba, "RGBA").save(tmp_path / "t.png")
  y = load_image(tmp_path / "t.png")
  a = rgba[..., 3:] / 255.0
  expected = np.round(rgba[..., :3] * a + 255.0 * (1.0 - a))
  np.testing.assert_array_equal(y, expected)
  np.testing.assert_array_equal(y[0, 0], [255, 255, 255])  # fully transparent -> white


def test_grey_with_alpha_is_composited_on_white(tmp_path):
  la = np.array([[[0, 0], [0, 255], [100, 51]]], np.uint8)
  Image.fromarray(la, "LA").save(tmp_path / "la.png")
  y = load_image(tmp_path / "la.png")
  np.testing.assert_array_equal(y[0, :, 0], [255, 0, round(100 * 0.2 + 255 * 0.8)])


def test_palette_image_is_looked_up_in_its_palette(tmp_path):
  palette = np.array([[255, 0, 0], [0, 128, 255], [7, 8, 9]], np.uint8)
  idx = np.array([[0, 1, 2], [2, 1, 0]], np.uint8)
  img = Image.fromarray(idx, "P")
  img.putpalette(palette.ravel().tolist())
  img.save(tmp_path / "p.png")
  np.testing.assert_array_equal(load_image(tmp_path / "p.png"), palette[idx])


def test_palette_transparent_index_becomes_white(tmp_path):
  palette = np.array([[255, 0, 0], [0, 128, 255]], np.uint8)
  idx = np.array([[0, 1]], np.uint8)
  img = Image.fromarray(idx, "P")
  img.putpalette(palette.ravel().tolist())
  img.save(tmp_path / "pt.png", transparency=1)
  np.testing.assert_array_equal(load_image(tmp_path / "pt.png")[0], [[255, 0, 0], [255, 255, 255]])


SIXTEEN_BIT = np.array([[0, 128, 129, 257 * 100 + 128, 257 * 100 + 129, 65535]], np.uint16)
SIXTEEN_BIT_AS_8 = np.array([[0, 0, 1, 100, 101, 255]], np.uint8)  # round(x / 257) by hand


def test_sixteen_bit_grey_png_is_scaled_by_257_with_rounding(tmp_path):
  img = Image.fromarray(SIXTEEN_BIT)
  assert img.mode == "I;16"
  img.save(tmp_path / "g16.png")
  y = load_image(tmp_path / "g16.png")
  np.testing.assert_array_equal(y[..., 0], SIXTEEN_BIT_AS_8)
  np.testing.assert_array_equal(y[..., 2], SIXTEEN_BIT_AS_8)


def test_sixteen_bit_random_values_match_float_rounding(tmp_path):
  x = np.random.default_rng(1).integers(0, 65536, (17, 19), dtype=np.uint16)
  Image.fromarray(x).save(tmp_path / "r16.png")
  np.testing.assert_array_equal(load_image(tmp_path / "r16.png")[..., 0], np.round(x / 257.0))


@pytest.mark.parametrize("make", [
    lambda: Image.frombytes("I;16B", SIXTEEN_BIT.shape[::-1], SIXTEEN_BIT.astype(">u2").tobytes()),
    lambda: Image.fromarray(SIXTEEN_BIT.astype(np.int32)),  # mode "I"
], ids=["I;16B", "I"])
def test_big_endian_and_32_bit_int_tiffs_are_scaled_like_16_bit(tmp_path, make):
  make().save(tmp_path / "g.tiff")
  np.testing.assert_array_equal(load_image(tmp_path / "g.tiff")[..., 0], SIXTEEN_BIT_AS_8)


def test_sixteen_bit_rgb_png_is_within_one_level_of_x_over_257(tmp_path):
  x = np.random.default_rng(2).integers(0, 65536, (5, 7, 3)).astype(np.uint16)
  _png_by_hand(tmp_path / "c16.png", x, color_type=2)
  y = load_image(tmp_path / "c16.png")
  assert y.shape == x.shape
  assert np.abs(y.astype(int) - np.round(x / 257.0)).max() <= 1


def test_float_image_is_clipped_to_0_255_and_rounded(tmp_path):
  f = np.array([[-5.0, 0.4, 100.6, 254.6, 300.0]], np.float32)
  Image.fromarray(f).save(tmp_path / "f.tiff")
  np.testing.assert_array_equal(load_image(tmp_path / "f.tiff")[0, :, 0], [0, 0, 101, 255, 255])


@pytest.mark.parametrize("values, words", [([[0.0, 0.5, 1.0]], "[0, 1]"),
                                           ([[0.0, np.nan, 100.0]], "NaN")])
def test_float_image_in_unit_range_or_with_nan_is_an_error_naming_the_file(tmp_path, values, words):
  Image.fromarray(np.array(values, np.float32)).save(tmp_path / "unit.tiff")
  with pytest.raises(ImageError, match="unit.tiff") as e:
    load_image(tmp_path / "unit.tiff")
  assert words in str(e.value)


def test_cmyk_jpeg_loads_as_rgb(tmp_path):
  Image.new("CMYK", (16, 16), (0, 255, 0, 0)).save(tmp_path / "c.jpg", quality=95)
  y = load_image(tmp_path / "c.jpg")
  assert y.shape == (16, 16, 3)
  # C=0, M=255, Y=0, K=0 is magenta: R = 255 - C, G = 255 - M, B = 255 - Y.
  assert np.abs(y.astype(int) - [255, 0, 255]).max() <= 3


def test_exif_orientation_is_applied(tmp_path):
  x = _rgb(4, 6)
  exif = Image.Exif()
  exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
  Image.fromarray(x).save(tmp_path / "o.png", exif=exif)
  np.testing.assert_array_equal(load_image(tmp_path / "o.png"), np.rot90(x, k=-1))


@pytest.mark.parametrize("fmt", ["jpg", "png"])
def test_truncated_file_is_an_error_naming_the_file(tmp_path, fmt):
  path = tmp_path / f"cut_in_half.{fmt}"
  Image.fromarray(_rgb(64, 64)).save(path)
  data = path.read_bytes()
  path.write_bytes(data[:len(data) // 2])
  with pytest.raises(ImageError, match="cut_in_half") as e:
    load_image(path)
  assert "truncated" in str(e.value) and "Re-export" in str(e.value)


def test_loading_leaves_truncated_image_loading_switched_off(tmp_path):
  Image.fromarray(_rgb()).save(tmp_path / "a.png")
  load_image(tmp_path / "a.png")
  assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_refuses_to_load_when_truncated_images_are_allowed_globally(tmp_path, monkeypatch):
  Image.fromarray(_rgb()).save(tmp_path / "a.png")
  monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
  with pytest.raises(RuntimeError, match="LOAD_TRUNCATED_IMAGES"):
    load_image(tmp_path / "a.png")


@pytest.mark.parametrize("content", [np.random.default_rng(3).bytes(500), b"", b"<html>404</html>"],
                         ids=["random", "empty", "html"])
def test_non_image_bytes_are_an_error_naming_the_file(tmp_path, content):
  path = tmp_path / "not_an_image.png"
  path.write_bytes(content)
  with pytest.raises(ImageError, match="not_an_image.png"):
    load_image(path)


def test_missing_file_is_an_error_naming_the_file(tmp_path):
  with pytest.raises(ImageError, match="does_not_exist.png.*does not exist"):
    load_image(tmp_path / "does_not_exist.png")


def test_directory_is_an_error_naming_it(tmp_path):
  with pytest.raises(ImageError, match="is a directory"):
    load_image(tmp_path)


def test_image_error_is_a_value_error():
  assert issubclass(ImageError, ValueError)


def test_min_size_error_gives_both_sizes_the_file_and_the_fix():
  image = np.zeros((20, 30, 3), np.uint8)
  with pytest.raises(ImageError) as e:
    check_min_size(image, 32, path="small.png")
  message = str(e.value)
  assert "'small.png' is 20x30 px" in message
  assert "minimum 32x32" in message
  assert "upsample" in message and "larger image" in message


def test_min_size_accepts_large_enough_images_and_per_axis_minimum():
  image = np.zeros((20, 30, 3), np.uint8)
  assert check_min_size(image, (20, 30)) is image
  with pytest.raises(ImageError, match=r"\(array\) is 20x30 px.*minimum 20x31"):
    check_min_size(image, (20, 31))


def test_to_float_maps_uint8_onto_unit_interval_as_float32():
  x = np.array([[[0, 51, 255]]], np.uint8)
  y = to_float(x)
  assert y.dtype == np.float32 and y.shape == x.shape
  np.testing.assert_allclose(y, [[[0.0, 0.2, 1.0]]], rtol=0, atol=1e-7)


def test_to_float_rejects_float_input_that_would_be_scaled_twice():
  with pytest.raises(ValueError, match="uint8"):
    to_float(np.zeros((2, 2, 3), np.float32))


def test_check_finite_returns_finite_and_integer_arrays_unchanged():
  scores = np.array([1.0, 2.5, -3.0])
  assert check_finite("scores", scores) is scores
  labels = np.array([1, 2, 3])
  assert check_finite("labels", labels) is labels


def test_check_finite_reports_count_kinds_first_indices_and_source():
  scores = np.array([1.0, np.nan, 2.0, np.inf, -np.inf, np.nan])
  with pytest.raises(ValueError) as e:
    check_finite("mos", scores, source="dmos.csv", max_shown=2)
  message = str(e.value)
  assert "mos (from 'dmos.csv')" in message
  assert "4 non-finite value(s) of 6 (2 NaN, 2 inf)" in message
  assert "first at index 1, 3, ..." in message


def test_check_finite_reports_2d_indices():
  a = np.zeros((3, 4))
  a[2, 1] = np.nan
  with pytest.raises(ValueError, match=r"first at index \(2, 1\)"):
    check_finite("std", a)


def test_check_finite_rejects_non_numeric_input():
  with pytest.raises(ValueError, match="not numeric"):
    check_finite("mos", np.array(["1.0", "n/a"]))

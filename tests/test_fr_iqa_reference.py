"""biqa_jax.fr_iqa against the published / authors'-code values of shared/reference/fr_testdata/values.csv.

Rows from the authors' ``.m`` files run in GNU Octave (10 significant digits) are matched in
float64 to 1e-8 relative (the float32 default is checked to 1e-4 against float64 NumPy ports in
test_fr_iqa_independent.py; a float32 compile per model at this size would double the run time). Published values rounded to a few
decimals are matched to half a unit of their last decimal. Rows that the authors' code does *not*
reproduce (fr_iqa.md §5) are checked for what is reproducible instead, see ``NOT_MATLAB``.

The data (``tests/fr_testdata/``: the test images and ``values.csv`` with each value's source and
settings) ships with the tests; ``$BIQA_FR_TESTDATA`` points elsewhere if wanted.
"""

import csv
import os

import numpy as np
import pytest
from PIL import Image

from biqa_jax import fr_iqa

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.environ.get("BIQA_FR_TESTDATA", os.path.join(REPO, "tests", "fr_testdata"))
# Models with rows in values.csv that the suite does not implement yet; their rows are left out
# of the parametrised tests, and test_unimplemented_models_are_exactly_the_listed_ones keeps
# this set honest.
NOT_IMPLEMENTED = {"mad"}

# values.csv model column -> (fr_iqa model, options)
MODEL_OF = {"ssim_nodown": ("ssim", {"downsample": False}),
            "mdsi_mult": ("mdsi", {"combination": "mult"})}

# Rows whose value is not what the authors' MATLAB code gives on these inputs (fr_iqa.md §4-5).
NOT_MATLAB = {
    # piq's own per-RGB-channel SSIM; ssim.m on rgb2gray gives 0.8799 (Octave row, tested).
    ("I01.png", "ssim", "0.7842"): "piq per-channel SSIM, see test_piq_ssim_i01_is_per_channel",
    # pyiqa's calibration table; msssim.m gives 0.66998 (Octave row, tested).
    ("I03_ref.png", "ms_ssim", "0.6733"): "another MS-SSIM implementation (msssim.m: 0.66998)",
    # piq's port (no anti-aliased imresize, shifted 2x2 windows); VSI.m in Octave gives 0.96395 (tested).
    ("I01.png", "vsi", "0.96405"): "piq's VSI port, not VSI.m (Octave: 0.96395)",
    # piq fed float YIQ luma (0.299/0.587/0.114, unrounded), see test_piq_values_use_float_yiq_luma.
    ("I01.png", "gmsd", "0.094124655829098"): "piq float YIQ luma input",
    ("I01.png", "vifp", "0.3147"): "piq float YIQ luma input",
}


def _rows():
  path = os.path.join(DATA, "values.csv")
  if not os.path.exists(path):
    return []
  with open(path) as f:
    return list(csv.DictReader(f))


ROWS = _rows()
_CACHE = {}


def _image(name):
  if name not in _CACHE:
    _CACHE[name] = np.array(Image.open(os.path.join(DATA, name)))
  return _CACHE[name]


def _decimals(value: str) -> int:
  return len(value.split(".")[1]) if "." in value else 0


def _case_id(row):
  return f"{row['reference']}-{row['model']}-{row['value']}"


def _model(row):
  return MODEL_OF.get(row["model"], (row["model"], {}))


def _setup(row):
  name, options = _model(row)
  return name, options, _image(row["reference"]), _image(row["distorted"])


IMPLEMENTED = [r for r in ROWS if _model(r)[0] not in NOT_IMPLEMENTED]
OCTAVE = [r for r in IMPLEMENTED if "GNU Octave" in r["source"]]
PUBLISHED = [r for r in IMPLEMENTED if "GNU Octave" not in r["source"]
             and (r["reference"], r["model"], r["value"]) not in NOT_MATLAB]


def test_reference_data_is_present():
  assert ROWS, f"FR-IQA reference data not found at {DATA} (values.csv); restore tests/fr_testdata."
  assert len(OCTAVE) >= 40 and len(PUBLISHED) >= 15


def test_unimplemented_models_are_exactly_the_listed_ones():
  in_csv = {_model(r)[0] for r in ROWS}
  assert in_csv - set(fr_iqa.MODELS) == NOT_IMPLEMENTED


@pytest.mark.parametrize("row", OCTAVE, ids=_case_id)
def test_matches_authors_code_run_in_octave_float64(row):
  """float64 equals the authors' .m file (Octave) to 1e-8 relative (MAD's exact 0: absolutely)."""
  name, options, ref, dist = _setup(row)
  expected = float(row["value"])
  got = fr_iqa.compute(name, ref, dist, dtype=np.float64, **options)
  assert got == pytest.approx(expected, rel=1e-8, abs=1e-12), row


@pytest.mark.parametrize("row", PUBLISHED, ids=_case_id)
def test_matches_published_value_to_its_printed_precision(row):
  """Published values (piq tests, pyiqa calibration table) to within their rounding (and <= 1e-4 rel where printed finer)."""
  name, options, ref, dist = _setup(row)
  expected = float(row["value"])
  tolerance = max(0.5 * 10.0 ** -_decimals(row["value"]), 1e-4 * abs(expected)) * (1 + 1e-9)
  got = fr_iqa.compute(name, ref, dist, dtype=np.float64, **options)
  assert abs(got - expected) <= tolerance, (row, got)


def test_not_reproducible_rows_are_the_listed_ones():
  """Every row we do not match as-is is listed with its reason (so no published value is silently dropped)."""
  listed = {(r["reference"], r["model"], r["value"]) for r in ROWS} & set(NOT_MATLAB)
  assert listed == set(NOT_MATLAB)


def test_piq_values_use_float_yiq_luma():
  """piq's I01 GMSD / VIFp values are the MATLAB algorithms fed unrounded 0.299/0.587/0.114 luma."""
  ref = _image("I01.png").astype(np.float64)
  dist = _image("i01_01_5.png").astype(np.float64)
  luma = lambda x: x @ np.array([0.299, 0.587, 0.114])
  gmsd = fr_iqa.compute("gmsd", luma(ref), luma(dist), dtype=np.float64)
  assert gmsd == pytest.approx(0.094124655829098, rel=1e-9)
  vifp = fr_iqa.compute("vifp", luma(ref), luma(dist), dtype=np.float64)
  assert abs(vifp - 0.3147) <= 0.5e-4


def test_piq_ssim_i01_is_per_channel():
  """piq's SSIM baseline for I01 is the mean over R, G, B of ssim.m, not ssim.m on rgb2gray.

  The per-channel mean is 0.78196, piq's earlier baseline 0.7820; its later 0.7842 (atol 1e-2 in
  piq's test) is not reproduced by ssim.m on any channel combination we know of.
  """
  ref, dist = _image("I01.png"), _image("i01_01_5.png")
  per_channel = np.mean([fr_iqa.compute("ssim", ref[..., c], dist[..., c], dtype=np.float64)
                         for c in range(3)])
  assert abs(per_channel - 0.7820) <= 0.5e-4
  assert abs(per_channel - 0.7842) < 1e-2

"""From raw ratings to what active fine-tuning consumes: a MOS table and a screening report.

The MOS CSV (``python -m biqa_jax.subjective screen``; read back with :func:`read_mos_csv`) has one
row per image: ``image_id`` (the image's path in the gMAD selection), ``mos`` and ``std`` (0–100
scale, higher = better; std with N − 1) and ``n_raters`` (how many ratings the MOS averages, after
screening). Beside it a JSON report lists the rejected raters with BT.500's counts and why.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import os
from typing import Sequence

import numpy as np

from biqa_jax.subjective import screening

MOS_FIELDS = ("image_id", "mos", "std", "n_raters")


@dataclasses.dataclass(frozen=True)
class MosTable:
  image_ids: tuple[str, ...]
  mos: np.ndarray        # [I] float
  std: np.ndarray        # [I] float, N − 1
  n_raters: np.ndarray   # [I] int

  def as_dict(self) -> dict[str, tuple[float, float]]:
    """``{image_id: (mos, std)}``."""
    return {i: (float(m), float(s)) for i, m, s in zip(self.image_ids, self.mos, self.std,
                                                               strict=True)}


@dataclasses.dataclass(frozen=True)
class ScreeningReport:
  rater_ids: tuple[str, ...]
  rejected: tuple[dict, ...]          # {"rater_id", "p", "q", "n", "why"}
  outlier_ratings_removed: int
  remove_outlier_ratings: bool

  def to_json(self) -> dict:
    return {"method": "ITU-R BT.500 observer screening (method.md §7)",
            "thresholds": {"outlier_share": screening.OUTLIER_SHARE,
                           "asymmetry": screening.ASYMMETRY},
            "n_raters": len(self.rater_ids),
            "n_rejected": len(self.rejected),
            "rejected": list(self.rejected),
            "remove_outlier_ratings": self.remove_outlier_ratings,
            "outlier_ratings_removed": self.outlier_ratings_removed}


def screen_ratings(ratings, rater_ids: Sequence[str], image_ids: Sequence[str], *,
                   remove_outlier_ratings: bool = False) -> tuple[MosTable, ScreeningReport]:
  """BT.500 screening of ``ratings[S, I]`` then MOS/std per image from the kept raters."""
  r = np.asarray(ratings, dtype=np.float64)
  if r.shape != (len(rater_ids), len(image_ids)):
    raise ValueError(f"ratings has shape {r.shape} but there are {len(rater_ids)} rater ids and "
                     f"{len(image_ids)} image ids; they must match [S, I].")
  rejected = screening.bt500_screen(r)
  reasons = [{"rater_id": rater_ids[x.subject], "p": x.p, "q": x.q, "n": x.n, "why": x.why}
             for x in screening.explain_rejections(r)]
  mean, std = screening.mos(r, rejected, remove_outlier_ratings=remove_outlier_ratings)
  n = screening.kept_counts(r, rejected, remove_outlier_ratings=remove_outlier_ratings)
  removed = int((~np.isnan(r[~rejected])).sum() - n.sum())
  table = MosTable(image_ids=tuple(image_ids), mos=mean, std=std, n_raters=n)
  return table, ScreeningReport(rater_ids=tuple(rater_ids), rejected=tuple(reasons),
                                outlier_ratings_removed=removed,
                                remove_outlier_ratings=remove_outlier_ratings)


def _fmt(x: float) -> str:
  return "nan" if math.isnan(x) else repr(float(x))


def write_mos_csv(table: MosTable, path: str) -> None:
  tmp = f"{path}.tmp"
  with open(tmp, "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f)
    w.writerow(MOS_FIELDS)
    for i, m, s, n in zip(table.image_ids, table.mos, table.std, table.n_raters,
                        strict=True):
      w.writerow([i, _fmt(m), _fmt(s), int(n)])
  os.replace(tmp, path)


def read_mos_csv(path: str) -> MosTable:
  with open(path, newline="", encoding="utf-8") as f:
    reader = csv.DictReader(f)
    if tuple(reader.fieldnames or ()) != MOS_FIELDS:
      raise ValueError(f"{path}: expected the columns {', '.join(MOS_FIELDS)} (written by "
                       f"`python -m biqa_jax.subjective screen`), got {reader.fieldnames}.")
    rows = list(reader)
  return MosTable(image_ids=tuple(r["image_id"] for r in rows),
                  mos=np.array([float(r["mos"]) for r in rows]),
                  std=np.array([float(r["std"]) for r in rows]),
                  n_raters=np.array([int(r["n_raters"]) for r in rows], dtype=int))


def write_report(report: ScreeningReport, path: str) -> None:
  tmp = f"{path}.tmp"
  with open(tmp, "w", encoding="utf-8") as f:
    json.dump(report.to_json(), f, indent=1)
  os.replace(tmp, path)

"""A study folder and its SQLite database: raters, their plans, and every rating.

Layout of a study folder (made by :func:`create_study` from a selection, see ``study.py``)::

    study/
      selection/        copy of the selection: its manifest.json and the images it names
      ratings.sqlite    (+ -wal, -shm while in use)

Durability: the database runs in WAL mode with ``synchronous=FULL``; :meth:`Study.record_rating`
commits before it returns, and the web app answers (and shows the next pair) only after that, so a
rating that was acknowledged survives a killed server (and a power cut). Concurrency: one
connection per request; writes are short ``BEGIN IMMEDIATE`` transactions, readers never block.

Tables: ``images`` (id = path, size, MIME), ``pairs`` (test pairs from the manifest, training
pairs from the anchors), ``sessions`` (one per rater: secret token, rater id), ``plan`` (each
rater's own random order and left/right placement, fixed when the rater is added so a reload or a
resume shows the same sequence), ``ratings`` (one row per rater and pair; scores stored per image
of the manifest, ``score_a`` for ``image_a``, plus where ``image_a`` was shown).
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import datetime
import json
import math
import os
import random
import secrets
import shutil
import sqlite3
import time
from typing import Any, Iterator

import numpy as np

from biqa_jax.subjective import study as study_lib

DB_NAME = "ratings.sqlite"
SELECTION_DIR = "selection"
SCHEMA_VERSION = 1
SCORE_MIN, SCORE_MAX = 0.0, 100.0
MAX_RATER_ID = 100

_SCHEMA = """
CREATE TABLE study (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE images (
  image_idx INTEGER PRIMARY KEY,
  image_id TEXT NOT NULL UNIQUE,
  width INTEGER NOT NULL, height INTEGER NOT NULL, mime TEXT NOT NULL);
CREATE TABLE pairs (
  pair_idx INTEGER PRIMARY KEY,
  pair_id TEXT NOT NULL UNIQUE,
  phase TEXT NOT NULL CHECK (phase IN ('training', 'test')),
  image_a INTEGER NOT NULL REFERENCES images, image_b INTEGER NOT NULL REFERENCES images,
  meta TEXT NOT NULL);
CREATE TABLE sessions (
  session_idx INTEGER PRIMARY KEY,
  token TEXT NOT NULL UNIQUE,
  rater_id TEXT NOT NULL UNIQUE,
  created_at REAL NOT NULL);
CREATE TABLE plan (
  session_idx INTEGER NOT NULL REFERENCES sessions,
  position INTEGER NOT NULL,
  pair_idx INTEGER NOT NULL REFERENCES pairs,
  swapped INTEGER NOT NULL CHECK (swapped IN (0, 1)),
  PRIMARY KEY (session_idx, position),
  UNIQUE (session_idx, pair_idx));
CREATE TABLE ratings (
  session_idx INTEGER NOT NULL,
  pair_idx INTEGER NOT NULL,
  score_a REAL NOT NULL CHECK (score_a BETWEEN 0 AND 100),
  score_b REAL NOT NULL CHECK (score_b BETWEEN 0 AND 100),
  swapped INTEGER NOT NULL CHECK (swapped IN (0, 1)),
  submitted_at REAL NOT NULL,
  PRIMARY KEY (session_idx, pair_idx),
  FOREIGN KEY (session_idx, pair_idx) REFERENCES plan (session_idx, pair_idx));
"""


class StudyError(ValueError):
  """A study folder that cannot be created or opened, with what to do."""


class RatingError(ValueError):
  """A submitted rating that was refused; ``status`` is the HTTP status the app answers with."""

  def __init__(self, message: str, status: int):
    super().__init__(message)
    self.status = status


@dataclasses.dataclass(frozen=True)
class Session:
  rater_id: str
  token: str


@dataclasses.dataclass(frozen=True)
class Item:
  """The pair a rater sees next, already placed left/right for this rater."""
  pair_id: str
  phase: str                 # "training" or "test"
  number: int                # 1-based within its phase
  total: int                 # pairs in its phase
  left: dict                 # {"idx", "image_id", "width", "height"}
  right: dict


@dataclasses.dataclass(frozen=True)
class Progress:
  training_done: int
  training_total: int
  test_done: int
  test_total: int

  @property
  def finished(self) -> bool:
    return (self.training_done == self.training_total and self.test_done == self.test_total)


def parse_score(value: Any, name: str) -> float:
  """A slider value as float in [0, 100]; JSON numbers or (form) decimal strings."""
  if isinstance(value, bool) or value is None:
    raise RatingError(f"{name} must be a number from 0 to 100, got {value!r}.", 422)
  if isinstance(value, str):
    try:
      value = float(value.strip())
    except ValueError:
      raise RatingError(f"{name} must be a number from 0 to 100, got {value!r}.", 422) from None
  if not isinstance(value, (int, float)):
    raise RatingError(f"{name} must be a number from 0 to 100, got {type(value).__name__}.", 422)
  value = float(value)
  if not math.isfinite(value) or not SCORE_MIN <= value <= SCORE_MAX:
    raise RatingError(f"{name} = {value} is outside the scale 0 (worst) … 100 (best).", 422)
  return value


def _connect(db_path: str) -> sqlite3.Connection:
  conn = sqlite3.connect(db_path, timeout=30.0, isolation_level=None)
  conn.row_factory = sqlite3.Row
  conn.execute("PRAGMA journal_mode=WAL")
  # FULL: the WAL is fsynced at every commit, so an acknowledged rating survives even a power cut.
  conn.execute("PRAGMA synchronous=FULL")
  conn.execute("PRAGMA foreign_keys=ON")
  return conn


def create_study(selection_dir: str, study_dir: str, *, seed: int | None = None) -> "Study":
  """Creates ``study_dir`` (new or empty) from a gMAD selection: copies images, makes the DB.

  ``seed`` fixes every rater's random order and placement (for tests); by default it is random.
  """
  selection = study_lib.read_selection(selection_dir)
  study_dir = os.path.abspath(study_dir)
  if os.path.exists(study_dir) and os.listdir(study_dir):
    raise StudyError(f"{study_dir} exists and is not empty; give a new folder for the study "
                     f"(a study is never overwritten, its ratings would be lost).")
  copy = os.path.join(study_dir, SELECTION_DIR)
  os.makedirs(copy, exist_ok=True)
  for image_id in selection.images:
    dst = os.path.join(copy, *image_id.split("/"))
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    shutil.copy2(selection.path(image_id), dst)
  shutil.copy2(os.path.join(selection.root, study_lib.MANIFEST),
               os.path.join(copy, study_lib.MANIFEST))

  tmp_db = os.path.join(study_dir, DB_NAME + ".new")
  conn = _connect(tmp_db)
  try:
    conn.execute("BEGIN")
    # One by one, not executescript: that would commit half-way.
    for stmt in _SCHEMA.split(";"):
      if stmt.strip():
        conn.execute(stmt)
    meta = {"schema_version": str(SCHEMA_VERSION),
            "seed": str(secrets.randbits(63) if seed is None else int(seed)),
            "admin_token": secrets.token_urlsafe(24),
            "created_at": str(time.time()),
            "selection": selection.root}
    conn.executemany("INSERT INTO study VALUES (?, ?)", meta.items())
    index = {}
    for k, (image_id, info) in enumerate(selection.images.items()):
      conn.execute("INSERT INTO images VALUES (?, ?, ?, ?, ?)",
                   (k, image_id, info.width, info.height, info.mime))
      index[image_id] = k
    rows = [(p, "test") for p in selection.pairs]
    rows += [(p, "training") for p in study_lib.training_pairs(selection.anchors)]
    for k, (p, phase) in enumerate(rows):
      conn.execute("INSERT INTO pairs VALUES (?, ?, ?, ?, ?, ?)",
                   (k, p.pair_id, phase, index[p.image_a], index[p.image_b],
                    json.dumps(dict(p.meta), sort_keys=True)))
    conn.execute("COMMIT")
  finally:
    conn.close()
  # Renamed only when complete, so a crash during creation never leaves a half-made study.
  for suffix in ("-wal", "-shm"):
    if os.path.exists(tmp_db + suffix):
      os.remove(tmp_db + suffix)
  os.replace(tmp_db, os.path.join(study_dir, DB_NAME))
  return Study(study_dir)


class Study:
  """An existing study folder. Methods open their own short-lived connection (thread-safe)."""

  def __init__(self, study_dir: str):
    self.dir = os.path.abspath(study_dir)
    self.db_path = os.path.join(self.dir, DB_NAME)
    if not os.path.isfile(self.db_path):
      raise StudyError(
          f"{self.dir} is not a study folder (no {DB_NAME}); create one with "
          f"`python -m biqa_jax.subjective create --from SELECTION_DIR --study {study_dir}`.")
    with self.connection() as conn:
      meta = dict(conn.execute("SELECT key, value FROM study").fetchall())
    if meta.get("schema_version") != str(SCHEMA_VERSION):
      raise StudyError(f"{self.db_path} has schema version {meta.get('schema_version')}, this "
                       f"code reads version {SCHEMA_VERSION}.")
    self.seed = int(meta["seed"])
    self.admin_token = meta["admin_token"]

  @contextlib.contextmanager
  def connection(self) -> Iterator[sqlite3.Connection]:
    conn = _connect(self.db_path)
    try:
      yield conn
    finally:
      conn.close()

  # --- raters -------------------------------------------------------------------------------

  def add_rater(self, rater_id: str | None = None) -> Session:
    """A new session with a secret token and its own random order and left/right placement."""
    if rater_id is not None:
      rater_id = str(rater_id).strip()
      if not rater_id or len(rater_id) > MAX_RATER_ID or not rater_id.isprintable():
        raise StudyError(f"rater id {rater_id!r}: use 1 to {MAX_RATER_ID} printable characters.")
    token = secrets.token_urlsafe(24)
    with self.connection() as conn:
      conn.execute("BEGIN IMMEDIATE")
      try:
        session_idx = conn.execute(
            "SELECT COALESCE(MAX(session_idx), -1) + 1 FROM sessions").fetchone()[0]
        if rater_id is None:
          rater_id = f"rater-{session_idx + 1:03d}"
        if conn.execute("SELECT 1 FROM sessions WHERE rater_id = ?", (rater_id,)).fetchone():
          raise StudyError(f"rater id {rater_id!r} is already in this study; choose another or "
                           f"leave it out to get a numbered one.")
        conn.execute("INSERT INTO sessions VALUES (?, ?, ?, ?)",
                     (session_idx, token, rater_id, time.time()))
        rng = random.Random(f"{self.seed}/{session_idx}")
        training, test = [], []
        for pair_idx, phase in conn.execute("SELECT pair_idx, phase FROM pairs ORDER BY pair_idx"):
          (training if phase == "training" else test).append(pair_idx)
        rng.shuffle(training)
        rng.shuffle(test)
        conn.executemany(
            "INSERT INTO plan VALUES (?, ?, ?, ?)",
            [(session_idx, pos, pair_idx, rng.randrange(2))
             for pos, pair_idx in enumerate(training + test)])
        conn.execute("COMMIT")
      except BaseException:
        conn.execute("ROLLBACK")
        raise
    return Session(rater_id=rater_id, token=token)

  @staticmethod
  def _session_idx(conn: sqlite3.Connection, token: str) -> int | None:
    if not isinstance(token, str) or not token:
      return None
    row = conn.execute("SELECT session_idx FROM sessions WHERE token = ?", (token,)).fetchone()
    return None if row is None else row[0]

  def rater_id(self, token: str) -> str | None:
    with self.connection() as conn:
      row = conn.execute("SELECT rater_id FROM sessions WHERE token = ?", (token,)).fetchone()
    return None if row is None else row[0]

  # --- what a rater sees -------------------------------------------------------------------

  def _progress(self, conn, session_idx: int) -> Progress:
    counts = {("training", 0): 0, ("training", 1): 0, ("test", 0): 0, ("test", 1): 0}
    for phase, done, n in conn.execute(
        """SELECT pr.phase, r.pair_idx IS NOT NULL, COUNT(*) FROM plan p
           JOIN pairs pr ON pr.pair_idx = p.pair_idx
           LEFT JOIN ratings r ON r.session_idx = p.session_idx AND r.pair_idx = p.pair_idx
           WHERE p.session_idx = ? GROUP BY 1, 2""", (session_idx,)):
      counts[(phase, int(done))] = n
    return Progress(training_done=counts[("training", 1)],
                    training_total=counts[("training", 0)] + counts[("training", 1)],
                    test_done=counts[("test", 1)],
                    test_total=counts[("test", 0)] + counts[("test", 1)])

  def progress(self, token: str) -> Progress | None:
    with self.connection() as conn:
      session_idx = self._session_idx(conn, token)
      return None if session_idx is None else self._progress(conn, session_idx)

  def next_item(self, token: str) -> tuple[Item | None, Progress] | None:
    """The first unrated pair of this rater's plan (``None`` when done), with the progress.

    ``None`` altogether for an unknown token.
    """
    with self.connection() as conn:
      session_idx = self._session_idx(conn, token)
      if session_idx is None:
        return None
      progress = self._progress(conn, session_idx)
      row = conn.execute(
          """SELECT pr.pair_id, pr.phase, p.swapped, pr.image_a, pr.image_b FROM plan p
             JOIN pairs pr ON pr.pair_idx = p.pair_idx
             LEFT JOIN ratings r ON r.session_idx = p.session_idx AND r.pair_idx = p.pair_idx
             WHERE p.session_idx = ? AND r.pair_idx IS NULL
             ORDER BY p.position LIMIT 1""", (session_idx,)).fetchone()
      if row is None:
        return None, progress
      images = {}
      for idx in (row["image_a"], row["image_b"]):
        im = conn.execute("SELECT image_id, width, height FROM images WHERE image_idx = ?",
                          (idx,)).fetchone()
        images[idx] = {"idx": idx, "image_id": im["image_id"], "width": im["width"],
                       "height": im["height"]}
    a, b = images[row["image_a"]], images[row["image_b"]]
    left, right = (b, a) if row["swapped"] else (a, b)
    if row["phase"] == "training":
      number, total = progress.training_done + 1, progress.training_total
    else:
      number, total = progress.test_done + 1, progress.test_total
    return Item(pair_id=row["pair_id"], phase=row["phase"], number=number, total=total,
                left=left, right=right), progress

  def image_file(self, image_idx: int) -> tuple[str, str] | None:
    """(path, MIME type) of an image of the study, by its index; ``None`` if there is none."""
    with self.connection() as conn:
      row = conn.execute("SELECT image_id, mime FROM images WHERE image_idx = ?",
                         (image_idx,)).fetchone()
    if row is None:
      return None
    return os.path.join(self.dir, SELECTION_DIR, *row["image_id"].split("/")), row["mime"]

  def rating_times(self, token: str) -> list[float]:
    """Unix times of this rater's submitted ratings, oldest first."""
    with self.connection() as conn:
      session_idx = self._session_idx(conn, token)
      if session_idx is None:
        return []
      return [t for (t,) in conn.execute(
          "SELECT submitted_at FROM ratings WHERE session_idx = ? ORDER BY submitted_at",
          (session_idx,))]

  # --- writing a rating --------------------------------------------------------------------

  def record_rating(self, token: str, pair_id: Any, score_left: Any, score_right: Any) -> str:
    """Validates and commits one rating; returns ``"created"`` or ``"duplicate"``.

    The scores are those of the image shown on the left and on the right to *this* rater; they
    are stored per manifest image (``score_a`` for ``image_a``). Submitting the same pair again
    with the same scores is a no-op (``"duplicate"``: a retried request after a lost answer);
    with different scores it is refused (409), the first rating stands. Raises
    :class:`RatingError` (with the HTTP status) for an unknown token (404), a pair that is not
    in this study (422) or a score that is not a number in [0, 100] (422).
    """
    if not isinstance(pair_id, str) or not pair_id:
      raise RatingError(f"pair_id must be a non-empty string, got {pair_id!r}.", 422)
    left = parse_score(score_left, "score_left")
    right = parse_score(score_right, "score_right")
    with self.connection() as conn:
      conn.execute("BEGIN IMMEDIATE")
      try:
        session_idx = self._session_idx(conn, token)
        if session_idx is None:
          raise RatingError("unknown session: check the link you were given.", 404)
        row = conn.execute(
            """SELECT p.pair_idx, p.swapped FROM plan p JOIN pairs pr ON pr.pair_idx = p.pair_idx
               WHERE p.session_idx = ? AND pr.pair_id = ?""", (session_idx, pair_id)).fetchone()
        if row is None:
          raise RatingError(f"pair_id {pair_id!r} is not a pair of this study.", 422)
        score_a, score_b = (right, left) if row["swapped"] else (left, right)
        old = conn.execute(
            "SELECT score_a, score_b FROM ratings WHERE session_idx = ? AND pair_idx = ?",
            (session_idx, row["pair_idx"])).fetchone()
        if old is not None:
          conn.execute("ROLLBACK")
          if (old["score_a"], old["score_b"]) == (score_a, score_b):
            return "duplicate"
          raise RatingError(
              f"pair {pair_id!r} was already rated by this session with different scores; the "
              f"first rating stands.", 409)
        conn.execute("INSERT INTO ratings VALUES (?, ?, ?, ?, ?, ?)",
                     (session_idx, row["pair_idx"], score_a, score_b, row["swapped"],
                      time.time()))
        conn.execute("COMMIT")
      except BaseException:
        if conn.in_transaction:
          conn.execute("ROLLBACK")
        raise
    return "created"

  # --- reading it all back -----------------------------------------------------------------

  def pair_counts(self) -> tuple[int, int]:
    """(test pairs, training pairs) of the study."""
    with self.connection() as conn:
      counts = dict(conn.execute("SELECT phase, COUNT(*) FROM pairs GROUP BY phase").fetchall())
    return counts.get("test", 0), counts.get("training", 0)

  def raters(self) -> list[dict]:
    """One dict per rater: id, token, progress counts, time of the last rating."""
    out = []
    with self.connection() as conn:
      for row in conn.execute("SELECT session_idx, rater_id, token, created_at FROM sessions "
                              "ORDER BY session_idx").fetchall():
        p = self._progress(conn, row["session_idx"])
        last = conn.execute("SELECT MAX(submitted_at) FROM ratings WHERE session_idx = ?",
                            (row["session_idx"],)).fetchone()[0]
        out.append({"rater_id": row["rater_id"], "token": row["token"],
                    "training_done": p.training_done, "training_total": p.training_total,
                    "test_done": p.test_done, "test_total": p.test_total, "last_rating": last})
    return out

  def rating_rows(self) -> list[dict]:
    """Every stored rating (training and test), as written by :meth:`export_csv`."""
    with self.connection() as conn:
      rows = conn.execute(
          """SELECT s.rater_id, pr.phase, p.position, pr.pair_id, ia.image_id AS image_a,
                    ib.image_id AS image_b, r.score_a, r.score_b, r.swapped, r.submitted_at
             FROM ratings r
             JOIN sessions s ON s.session_idx = r.session_idx
             JOIN plan p ON p.session_idx = r.session_idx AND p.pair_idx = r.pair_idx
             JOIN pairs pr ON pr.pair_idx = r.pair_idx
             JOIN images ia ON ia.image_idx = pr.image_a
             JOIN images ib ON ib.image_idx = pr.image_b
             ORDER BY r.session_idx, p.position""").fetchall()
    return [{"rater_id": r["rater_id"], "phase": r["phase"], "position": r["position"] + 1,
             "pair_id": r["pair_id"], "image_a": r["image_a"], "image_b": r["image_b"],
             "score_a": r["score_a"], "score_b": r["score_b"],
             "left": "b" if r["swapped"] else "a",
             "submitted_at": _iso(r["submitted_at"])} for r in rows]

  def export_csv(self, out) -> int:
    """Writes the raw ratings as CSV to a path or text file; returns the number of ratings.

    Columns: rater_id, phase (training/test), position (1-based in the rater's sequence),
    pair_id, image_a, image_b, score_a, score_b, left ("a" if image_a was shown on the left),
    submitted_at (UTC, ISO 8601). Safe while the server runs (a consistent snapshot).
    """
    rows = self.rating_rows()
    fields = ["rater_id", "phase", "position", "pair_id", "image_a", "image_b", "score_a",
              "score_b", "left", "submitted_at"]
    if isinstance(out, (str, os.PathLike)):
      tmp = f"{out}.tmp"
      with open(tmp, "w", newline="", encoding="utf-8") as f:
        _write_csv(f, fields, rows)
      os.replace(tmp, out)
    else:
      _write_csv(out, fields, rows)
    return len(rows)

  def ratings_matrix(self) -> tuple[np.ndarray, list[str], list[str]]:
    """The test ratings as ``(ratings[S, I], rater_ids[S], image_ids[I])`` for screening.

    Subjects: raters with at least one test rating. Images: every image of a test pair. NaN =
    not rated. An image a rater scored in several pairs gets the mean of those scores (one
    opinion per subject and image, as BT.500's statistics assume).
    """
    with self.connection() as conn:
      image_ids = [i for (i,) in conn.execute(
          """SELECT image_id FROM images WHERE image_idx IN
               (SELECT image_a FROM pairs WHERE phase = 'test'
                UNION SELECT image_b FROM pairs WHERE phase = 'test')
             ORDER BY image_idx""")]
      rows = conn.execute(
          """SELECT s.rater_id, ia.image_id, ib.image_id, r.score_a, r.score_b
             FROM ratings r JOIN sessions s ON s.session_idx = r.session_idx
             JOIN pairs pr ON pr.pair_idx = r.pair_idx
             JOIN images ia ON ia.image_idx = pr.image_a
             JOIN images ib ON ib.image_idx = pr.image_b
             WHERE pr.phase = 'test' ORDER BY r.session_idx""").fetchall()
    rater_ids = list(dict.fromkeys(r[0] for r in rows))
    s_of = {r: k for k, r in enumerate(rater_ids)}
    i_of = {im: k for k, im in enumerate(image_ids)}
    total = np.zeros((len(rater_ids), len(image_ids)))
    count = np.zeros_like(total)
    for rater, a, b, score_a, score_b in rows:
      for image, score in ((a, score_a), (b, score_b)):
        total[s_of[rater], i_of[image]] += score
        count[s_of[rater], i_of[image]] += 1
    with np.errstate(invalid="ignore"):
      ratings = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    return ratings, rater_ids, image_ids


def _iso(t: float) -> str:
  return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).isoformat(
      timespec="milliseconds")


def _write_csv(f, fields, rows) -> None:
  w = csv.DictWriter(f, fieldnames=fields)
  w.writeheader()
  w.writerows(rows)

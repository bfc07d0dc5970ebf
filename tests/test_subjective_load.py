"""The real server under load, on loopback: 50 concurrent raters, a SIGKILL mid-run, a restart.

Every rating a client saw acknowledged (HTTP 200) must be in the database afterwards, exactly
once and with the scores sent; another rater's session cannot be written through a token; and
malformed or out-of-range submissions get a 4xx and change nothing.
"""

import collections
import http.client
import json
import os
import queue
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest

from biqa_jax.subjective import demo, storage

N_RATERS = 50
N_PAIRS = 20          # + 1 training pair from the demo's two anchors
KILL_AFTER = 300      # acknowledged ratings before the server is killed (of 50 × 21 = 1050)


class RunningServer:
  """``python -m biqa_jax.subjective serve`` in a subprocess, as a lab would start it."""

  def __init__(self, study_dir: str, port: int = 0, log_path: str | None = None):
    self.log = open(log_path or os.devnull, "ab")
    self.proc = subprocess.Popen(
        [sys.executable, "-m", "biqa_jax.subjective", "serve", "--study", study_dir,
         "--port", str(port)], stdout=subprocess.PIPE, stderr=self.log)
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in iter(self.proc.stdout.readline, b"")],
                     daemon=True).start()
    deadline = time.time() + 30
    while True:
      try:
        line = lines.get(timeout=0.2).decode()
      except queue.Empty:
        if self.proc.poll() is None and time.time() < deadline:
          continue
        self.stop()
        log = open(log_path).read()[-2000:] if log_path else ""
        raise RuntimeError(f"the server exited or did not start within 30 s:\n{log}") from None
      if line.startswith("Serving study"):
        self.url = line.rsplit(" at ", 1)[1].strip().rstrip("/")
        self.port = int(self.url.rsplit(":", 1)[1])
        return

  def kill(self):
    self.proc.send_signal(signal.SIGKILL)
    self.proc.wait(timeout=10)

  def stop(self):
    if self.proc.poll() is None:
      self.proc.terminate()
      try:
        self.proc.wait(timeout=10)
      except subprocess.TimeoutExpired:
        self.proc.kill()
        self.proc.wait()
    self.log.close()


def request(url, body=None, *, raw=None, content_type="application/json", timeout=10.0):
  """(status, parsed JSON or text) of a GET, or a POST of ``body`` (JSON) or ``raw`` bytes."""
  data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
  req = urllib.request.Request(url, data=data, method="GET" if data is None else "POST")
  if data is not None:
    req.add_header("Content-Type", content_type)
  try:
    with urllib.request.urlopen(req, timeout=timeout) as resp:
      status, text = resp.status, resp.read().decode()
  except urllib.error.HTTPError as err:
    status, text = err.code, err.read().decode()
  try:
    return status, json.loads(text)
  except ValueError:
    return status, text


def score_for(rater: int, pair_id: str, side: str) -> int:
  """Deterministic scores, so a retried submission is byte-for-byte the same."""
  return (rater * 37 + sum(map(ord, pair_id)) * (3 if side == "left" else 7)) % 101


def db_ratings(db_path):
  """{(rater_id, pair_id): {image_id: score}} read straight from SQLite (read-only)."""
  with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as conn:
    rows = conn.execute(
        """SELECT s.rater_id, pr.pair_id, ia.image_id, r.score_a, ib.image_id, r.score_b
           FROM ratings r JOIN sessions s USING (session_idx) JOIN pairs pr USING (pair_idx)
           JOIN images ia ON ia.image_idx = pr.image_a
           JOIN images ib ON ib.image_idx = pr.image_b""").fetchall()
    n_rows = conn.execute("SELECT COUNT(*) FROM ratings").fetchone()[0]
  out = {(r, p): {a: sa, b: sb} for r, p, a, sa, b, sb in rows}
  assert len(out) == n_rows == len(rows), "a rating is stored twice"
  return out


@pytest.fixture(scope="module")
def study(tmp_path_factory):
  folder = str(tmp_path_factory.mktemp("selection"))
  demo.write_demo_selection(folder, n_pairs=N_PAIRS, size=(32, 24), seed=1)
  study = storage.create_study(folder, str(tmp_path_factory.mktemp("s") / "study"), seed=2)
  sessions = [study.add_rater() for _ in range(N_RATERS)]
  return study, sessions


@pytest.mark.slow
def test_concurrent_raters_lose_nothing_when_the_server_is_killed(study, tmp_path):
  study, sessions = study
  log = str(tmp_path / "server.log")
  server = RunningServer(study.dir, log_path=log)
  acked, lock = {}, threading.Lock()
  created = collections.Counter()   # "created" answers per (rater, pair): at most one each
  retries = [0]
  errors = []
  stop = time.time() + 120

  def rater(k, token, rater_id):
    base = f"{url}/api/s/{token}"
    state = None
    try:
      while time.time() < stop:
        try:
          if state is None:
            status, state = request(base)
            assert status == 200, state
          item = state["next"]
          if item is None:
            return
          body = {"pair_id": item["pair_id"],
                  "score_left": score_for(k, item["pair_id"], "left"),
                  "score_right": score_for(k, item["pair_id"], "right")}
          status, reply = request(base + "/ratings", body)
        except (urllib.error.URLError, http.client.HTTPException, OSError):
          # No complete answer (refused, reset, or cut off mid-body by the kill): not
          # acknowledged. Send the same thing again once the server is back.
          with lock:
            retries[0] += 1
          time.sleep(0.05)
          continue
        assert status == 200, (status, reply)
        # The next pair shown is never the one just acknowledged (it was committed first).
        assert reply["next"] is None or reply["next"]["pair_id"] != item["pair_id"], reply
        with lock:
          created[(rater_id, item["pair_id"])] += reply["status"] == "created"
          acked[(rater_id, item["pair_id"])] = {
              item["left"]["image_id"]: body["score_left"],
              item["right"]["image_id"]: body["score_right"]}
        state = reply
      errors.append(f"rater {rater_id} did not finish in time")
    except Exception as err:  # reported by the main thread
      errors.append(f"rater {rater_id}: {err!r}")

  url = server.url   # the restarted server listens on the same port
  threads = [threading.Thread(target=rater, args=(k, s.token, s.rater_id), daemon=True)
             for k, s in enumerate(sessions)]
  try:
    for t in threads:
      t.start()
    while len(acked) < KILL_AFTER and time.time() < stop and not errors:
      time.sleep(0.005)
    assert not errors, errors
    server.kill()
    with lock:
      acked_at_kill = dict(acked)
    # Every rating acknowledged before the kill is on disk, read by a fresh process's view.
    on_disk = db_ratings(study.db_path)
    missing = [k for k, v in acked_at_kill.items() if on_disk.get(k) != v]
    assert not missing, f"{len(missing)} acknowledged ratings lost by SIGKILL, e.g. {missing[0]}"
    server.stop()
    server = RunningServer(study.dir, port=server.port, log_path=log)
    for t in threads:
      t.join(timeout=max(1.0, stop - time.time()))
  finally:
    server.stop()
  assert not errors, errors[:5]
  total = N_RATERS * (N_PAIRS + 1)
  assert KILL_AFTER <= len(acked_at_kill) < total, "the kill did not happen mid-run"
  assert retries[0] > 0, "no client saw the server down: the kill was not mid-run"
  final = db_ratings(study.db_path)
  assert len(acked) == total
  assert final == acked   # each acknowledged rating exactly once, with the scores sent
  # A rating acknowledged as "created" but not committed would be shown and created again.
  assert max(created.values()) == 1
  duplicates = total - sum(created.values())   # committed, answer lost in the kill, re-sent
  assert duplicates <= retries[0]
  print(f"{total} ratings from {N_RATERS} raters; {len(acked_at_kill)} acknowledged before "
        f"SIGKILL; {retries[0]} client retries; {duplicates} answered as duplicates")


@pytest.mark.slow
def test_real_server_refuses_bad_and_foreign_submissions_without_changing_data(study):
  study, sessions = study
  victim, intruder = study.add_rater("victim"), study.add_rater("intruder")
  server = RunningServer(study.dir)
  try:
    pair_id = request(f"{server.url}/api/s/{victim.token}")[1]["next"]["pair_id"]
    before = db_ratings(study.db_path)
    api = f"{server.url}/api/s/{intruder.token}/ratings"
    good = {"pair_id": pair_id, "score_left": 50, "score_right": 50}
    attempts = [
        (api, {**good, "rater_id": "victim"}, None, 403),
        (f"{server.url}/api/s/{victim.token[:-1]}{'A' if victim.token[-1] != 'A' else 'B'}"
         f"/ratings", good, None, 404),
        (f"{server.url}/api/s/{victim.token}x/ratings", good, None, 404),
        (api, None, b"{pair_id: 1", 400),
        (api, None, b'{"pair_id": "x", "score_left": Infinity, "score_right": 1}', 400),
        (api, None, b"[]", 400),
        (api, {**good, "score_left": 100.01}, None, 422),
        (api, {**good, "score_right": -3}, None, 422),
        (api, {**good, "score_right": "fifty"}, None, 422),
        (api, {**good, "score_right": None}, None, 422),
        (api, {**good, "pair_id": "no-such-pair"}, None, 422),
        (api, {"pair_id": pair_id, "score_left": 5}, None, 422),
        (api, {**good, "sneaky": 1}, None, 422),
        (api, None, b"{" + b" " * 40000 + b"}", 413),
        (f"{server.url}/s/{intruder.token}", None, b"pair_id=" + pair_id.encode()
         + b"&score_left=5&score_right=500", 422),
    ]
    for url, body, raw, expect in attempts:
      ctype = ("application/x-www-form-urlencoded" if url.endswith(intruder.token)
               else "application/json")
      status, reply = request(url, body, raw=raw, content_type=ctype)
      assert status == expect, (url[-30:], body, raw and raw[:40], status, reply)
      assert db_ratings(study.db_path) == before
    # The intruder's own valid rating lands in its own session only; the victim's stays empty.
    status, _ = request(api, good)
    assert status == 200
    after = db_ratings(study.db_path)
    assert set(after) - set(before) == {("intruder", pair_id)}
    assert request(f"{server.url}/api/s/{victim.token}")[1]["progress"]["test_done"] == 0
  finally:
    server.stop()

"""Study folders, storage and the web app in-process (Flask test client), and the CLI.

The real-server tests (browser, load and SIGKILL) are in test_subjective_browser.py and
test_subjective_load.py.
"""

import csv
import io
import json
import os
import sqlite3

import numpy as np
import pytest
from PIL import Image

from biqa_jax.subjective import app as app_lib
from biqa_jax.subjective import cli, demo, results, screening, storage
from biqa_jax.subjective import study as study_lib


@pytest.fixture(scope="module")
def selection(tmp_path_factory):
  folder = str(tmp_path_factory.mktemp("selection"))
  quality = demo.write_demo_selection(folder, n_pairs=12, size=(48, 32), seed=3)
  return folder, quality


@pytest.fixture
def study(selection, tmp_path):
  return storage.create_study(selection[0], str(tmp_path / "study"), seed=11)


def db_rows(study, table="ratings"):
  with sqlite3.connect(study.db_path) as conn:
    return sorted(conn.execute(f"SELECT * FROM {table}").fetchall())


# --- selection format ---------------------------------------------------------------------------

def _tiny_selection(folder, pairs, anchors=(), fmt="PNG", extra=None):
  os.makedirs(folder / "im", exist_ok=True)
  for k in range(4):
    Image.new("RGB", (8 + k, 6), (40 * k, 80, 120)).save(folder / "im" / f"{k}.png", format=fmt)
  doc = {"pairs": pairs, "anchors": list(anchors)}
  doc.update(extra or {})
  (folder / "manifest.json").write_text(json.dumps(doc))
  return str(folder)


def _pair(pid="p1", a="im/0.png", b="im/1.png", **kw):
  return {"pair_id": pid, "image_a": a, "image_b": b, **kw}


@pytest.mark.parametrize("pairs, anchors, fmt, extra, message", [
    ([_pair(), _pair()], [], "PNG", None, "already used by pairs\\[0\\]"),
    ([_pair(b="im/9.png")], [], "PNG", None, "not found"),
    ([_pair(b="../outside.png")], [], "PNG", None, "outside the selection folder"),
    ([_pair(b="/etc/passwd")], [], "PNG", None, "outside the selection folder"),
    ([_pair(b="im/0.png")], [], "PNG", None, "same image"),
    ([_pair(pid="#training-1")], [], "PNG", None, "not\\s+starting with '#'"),
    ([_pair(pid="")], [], "PNG", None, "1 to 200 printable"),
    ([_pair(level=3)], [], "PNG", None, "under \"meta\""),
    ([_pair(meta=[1])], [], "PNG", None, "meta must be a JSON object"),
    ([{"pair_id": "p"}], [], "PNG", None, "lacks \\['image_a', 'image_b'\\]"),
    ([_pair()], ["im/2.png"], "PNG", None, "one anchor"),
    ([_pair()], [], "TIFF", None, "browsers show only"),
    ([_pair()], [], "PNG", {"extra": 1}, "unknown key"),
    ([], [], "PNG", None, "non-empty list \"pairs\""),
])
def test_bad_selections_are_refused_with_the_reason(tmp_path, pairs, anchors, fmt, extra, message):
  folder = _tiny_selection(tmp_path / "sel", pairs, anchors, fmt, extra)
  with pytest.raises(study_lib.SelectionError, match=message):
    storage.create_study(folder, str(tmp_path / "study"))
  assert not os.path.exists(tmp_path / "study" / storage.DB_NAME)


def test_a_file_that_is_not_an_image_is_refused(tmp_path):
  folder = _tiny_selection(tmp_path / "sel", [_pair()])
  (tmp_path / "sel" / "im" / "1.png").write_text("not a png")
  with pytest.raises(study_lib.SelectionError, match="not a readable image"):
    study_lib.read_selection(folder)


def test_write_selection_round_trips_and_refuses_broken_manifests(tmp_path):
  folder = _tiny_selection(tmp_path / "sel", [_pair()])
  pairs = [study_lib.Pair("a", "im/0.png", "im/1.png", {"defender": "ssim", "level": 2}),
           {"pair_id": "b", "image_a": "im/2.png", "image_b": "im/3.png"}]
  study_lib.write_selection(folder, pairs, anchors=["im/1.png", "im/2.png"])
  sel = study_lib.read_selection(folder)
  assert [p.pair_id for p in sel.pairs] == ["a", "b"]
  assert sel.pairs[0].meta == {"defender": "ssim", "level": 2}
  assert sel.anchors == ("im/1.png", "im/2.png")
  assert sel.images["im/3.png"].width == 11 and sel.images["im/3.png"].mime == "image/png"
  with pytest.raises(study_lib.SelectionError, match="not found"):
    study_lib.write_selection(folder, [{"pair_id": "c", "image_a": "im/0.png",
                                        "image_b": "missing.png"}])
  assert not os.path.exists(os.path.join(folder, "manifest.json"))


def test_training_pairs_cover_every_anchor():
  pairs = study_lib.training_pairs(["a", "b", "c"])
  assert [(p.image_a, p.image_b) for p in pairs] == [("a", "b"), ("c", "a")]
  assert [p.pair_id for p in pairs] == ["#training-1", "#training-2"]


# --- study folder and storage ---------------------------------------------------------------------

def test_create_study_copies_everything_and_refuses_to_overwrite(selection, study, tmp_path):
  folder, _ = selection
  assert study.pair_counts() == (12, 1)
  used = study_lib.read_selection(folder).images
  assert len(used) >= 14   # the images of 12 pairs and the two anchors
  for image_id in used:
    with open(os.path.join(folder, image_id), "rb") as a, \
         open(os.path.join(study.dir, "selection", image_id), "rb") as b:
      assert a.read() == b.read()
  with sqlite3.connect(study.db_path) as conn:
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
  with pytest.raises(storage.StudyError, match="not empty"):
    storage.create_study(folder, study.dir)
  with pytest.raises(storage.StudyError, match="not a study folder"):
    storage.Study(str(tmp_path))


def test_each_rater_gets_a_stable_random_order_and_placement(study):
  sessions = [study.add_rater() for _ in range(6)]
  assert [s.rater_id for s in sessions] == [f"rater-{k:03d}" for k in range(1, 7)]
  assert len({s.token for s in sessions}) == 6 and all(len(s.token) >= 32 for s in sessions)
  with sqlite3.connect(study.db_path) as conn:
    plans = [conn.execute("""SELECT pr.pair_id, p.swapped, pr.phase FROM plan p
                             JOIN pairs pr USING (pair_idx) JOIN sessions s USING (session_idx)
                             WHERE s.token = ? ORDER BY p.position""", (s.token,)).fetchall()
             for s in sessions]
  test_ids = {f"demo-{k:03d}" for k in range(1, 13)}
  for plan in plans:
    assert plan[0][2] == "training" and all(phase == "test" for _, _, phase in plan[1:])
    assert {pid for pid, _, phase in plan if phase == "test"} == test_ids
  orders = {tuple(pid for pid, _, _ in plan) for plan in plans}
  assert len(orders) > 1
  swaps = [sw for plan in plans for _, sw, _ in plan]
  assert 0.2 < np.mean(swaps) < 0.8
  # Asking again (a reload) gives the same pair in the same placement.
  first = study.next_item(sessions[0].token)[0]
  assert study.next_item(sessions[0].token)[0] == first
  assert first.pair_id == plans[0][0][0]


def test_rater_ids_are_unique_and_checked(study):
  study.add_rater("alice")
  with pytest.raises(storage.StudyError, match="already in this study"):
    study.add_rater("alice")
  with pytest.raises(storage.StudyError, match="printable"):
    study.add_rater("bad\nid")


def test_ratings_are_stored_per_manifest_image_whatever_the_placement(study):
  session = study.add_rater()
  # The study keeps a copy of its selection, itself a valid selection folder.
  sel = {p.pair_id: p for p in study_lib.read_selection(os.path.join(study.dir, "selection")).pairs}
  entered = {}
  while True:
    item, _ = study.next_item(session.token)
    if item is None:
      break
    left, right = (len(entered) * 7) % 101, 100 - (len(entered) * 13) % 101
    assert study.record_rating(session.token, item.pair_id, left, right) == "created"
    entered[item.pair_id] = {item.left["image_id"]: left, item.right["image_id"]: right}
  swapped = 0
  for row in study.rating_rows():
    if row["phase"] == "test":
      pair = sel[row["pair_id"]]
      assert (row["image_a"], row["image_b"]) == (pair.image_a, pair.image_b)
      swapped += row["left"] == "b"
    scores = entered[row["pair_id"]]
    assert scores[row["image_a"]] == row["score_a"] and scores[row["image_b"]] == row["score_b"]
  assert 0 < swapped < 12
  assert study.progress(session.token).finished


def test_duplicate_submit_is_idempotent_and_a_changed_one_is_refused(study):
  session = study.add_rater()
  item, _ = study.next_item(session.token)
  assert study.record_rating(session.token, item.pair_id, 30, 60) == "created"
  before = db_rows(study)
  assert study.record_rating(session.token, item.pair_id, 30.0, "60") == "duplicate"
  with pytest.raises(storage.RatingError, match="first rating stands") as err:
    study.record_rating(session.token, item.pair_id, 31, 60)
  assert err.value.status == 409
  assert db_rows(study) == before


@pytest.mark.parametrize("value", [-1, 100.5, float("nan"), float("inf"), "abc", "", None, True,
                                   [50]])
def test_scores_outside_the_scale_or_not_numbers_are_refused(study, value):
  session = study.add_rater()
  item, _ = study.next_item(session.token)
  with pytest.raises(storage.RatingError, match="score_right") as err:
    study.record_rating(session.token, item.pair_id, 50, value)
  assert err.value.status == 422
  assert db_rows(study) == []


def test_scale_ends_are_valid_scores(study):
  session = study.add_rater()
  item, _ = study.next_item(session.token)
  assert study.record_rating(session.token, item.pair_id, 0, 100) == "created"


def test_ratings_matrix_averages_an_image_rated_in_two_pairs(tmp_path):
  folder = _tiny_selection(tmp_path / "sel", [_pair("p1", "im/0.png", "im/1.png"),
                                              _pair("p2", "im/0.png", "im/2.png")])
  study = storage.create_study(folder, str(tmp_path / "study"), seed=0)
  s = study.add_rater("r1")
  by_image = {"p1": {"im/0.png": 20, "im/1.png": 70}, "p2": {"im/0.png": 40, "im/2.png": 10}}
  for _ in range(2):
    item = study.next_item(s.token)[0]
    scores = by_image[item.pair_id]
    study.record_rating(s.token, item.pair_id, scores[item.left["image_id"]],
                        scores[item.right["image_id"]])
  study.add_rater("r2")  # no ratings: not a subject
  ratings, raters, images = study.ratings_matrix()
  assert raters == ["r1"] and images == ["im/0.png", "im/1.png", "im/2.png"]
  np.testing.assert_array_equal(ratings, [[30, 70, 10]])


# --- the web app in-process -----------------------------------------------------------------------

@pytest.fixture
def client(study):
  app = app_lib.create_app(study.dir)
  return app.test_client()


def test_rating_page_shows_both_images_at_native_size_with_two_sliders(study, client):
  session = study.add_rater()
  resp = client.get(f"/s/{session.token}")
  html = resp.get_data(as_text=True)
  assert resp.status_code == 200
  item = study.next_item(session.token)[0]
  for side in ("left", "right"):
    image = getattr(item, side)
    assert f'src="/s/{session.token}/image/{image["idx"]}"' in html
    assert f'width="{image["width"]}" height="{image["height"]}"' in html
    assert f'id="score_{side}" name="score_{side}"' in html and 'min="0" max="100"' in html
  for anchor in ("Bad", "Poor", "Fair", "Good", "Excellent"):
    assert f"<span>{anchor}</span>" in html
  assert "Pair 1 of 1" in html and "Training" in html
  assert resp.headers["Referrer-Policy"] == "no-referrer"
  assert "default-src 'none'" in resp.headers["Content-Security-Policy"]
  img = client.get(f"/s/{session.token}/image/{item.left['idx']}")
  assert img.status_code == 200 and img.mimetype == "image/png"
  assert Image.open(io.BytesIO(img.data)).size == (item.left["width"], item.left["height"])
  assert client.get(f"/s/{session.token}/image/999").status_code == 404
  assert client.get(f"/s/not-a-token/image/{item.left['idx']}").status_code == 404
  assert client.get("/s/not-a-token").status_code == 404


def test_form_post_commits_then_redirects_to_the_next_pair(study, client):
  session = study.add_rater()
  item = study.next_item(session.token)[0]
  resp = client.post(f"/s/{session.token}", data={"pair_id": item.pair_id, "score_left": "12",
                                                  "score_right": "88"})
  assert resp.status_code == 303 and resp.headers["Location"].endswith(f"/s/{session.token}")
  assert len(db_rows(study)) == 1
  html = client.get(f"/s/{session.token}").get_data(as_text=True)
  assert "Rating" in html and "Pair 1 of 12" in html
  bad = client.post(f"/s/{session.token}", data={"pair_id": item.pair_id, "score_left": "12"})
  assert bad.status_code == 422 and "score_right" in bad.get_data(as_text=True)
  assert len(db_rows(study)) == 1


def test_finished_and_break_pages(study, client):
  session = study.add_rater()
  assert "Continue rating" in client.get(f"/s/{session.token}/break").get_data(as_text=True)
  while (item := study.next_item(session.token)[0]) is not None:
    study.record_rating(session.token, item.pair_id, 50, 50)
  html = client.get(f"/s/{session.token}").get_data(as_text=True)
  assert "All 12 pairs are rated" in html


def _api(client, token, body, raw=False):
  data = body if raw else json.dumps(body)
  return client.post(f"/api/s/{token}/ratings", data=data, content_type="application/json")


@pytest.mark.parametrize("body, status, message", [
    ("{not json", 400, "not valid JSON"),
    ('{"pair_id": "demo-001", "score_left": NaN, "score_right": 5}', 400, "NaN is not a number"),
    ("[1, 2]", 400, "JSON object"),
    ("", 400, "JSON object"),
    ('{"pair_id": "demo-001", "score_left": 5}', 422, "missing field"),
    ('{"pair_id": "demo-001", "score_left": 5, "score_right": 5, "x": 1}', 422, "unknown field"),
    ('{"pair_id": "nope", "score_left": 5, "score_right": 5}', 422, "not a pair of this study"),
    ('{"pair_id": 7, "score_left": 5, "score_right": 5}', 422, "non-empty string"),
    ('{"pair_id": "demo-001", "score_left": 101, "score_right": 5}', 422, "outside the scale"),
    ('{"pair_id": "demo-001", "score_left": "5", "score_right": -0.5}', 422, "outside the scale"),
    ('{"pair_id": "demo-001", "score_left": true, "score_right": 5}', 422, "score_left"),
    ('{"pair_id": "demo-001", "score_left": 1e400, "score_right": 5}', 422, "outside the scale"),
])
def test_api_refuses_malformed_submissions_and_changes_nothing(study, client, body, status,
                                                                message):
  session = study.add_rater()
  before = db_rows(study)
  resp = _api(client, session.token, body, raw=True)
  assert resp.status_code == status, resp.get_data(as_text=True)
  assert message in resp.get_json()["error"]
  assert db_rows(study) == before


def test_api_session_isolation(study, client):
  alice, bob = study.add_rater("alice"), study.add_rater("bob")
  body = {"pair_id": "demo-001", "score_left": 10, "score_right": 20}
  assert _api(client, alice.token, {**body, "rater_id": "bob"}).status_code == 403
  forged = alice.token[:-1] + ("A" if alice.token[-1] != "A" else "B")   # one character off
  assert _api(client, forged, body).status_code == 404
  assert _api(client, "", body).status_code in (404, 405)
  assert db_rows(study) == []
  ok = _api(client, alice.token, {**body, "rater_id": "alice"})
  assert ok.status_code == 200 and ok.get_json()["status"] == "created"
  rows = study.rating_rows()
  assert [r["rater_id"] for r in rows] == ["alice"]
  assert client.get(f"/api/s/{bob.token}").get_json()["progress"]["test_done"] == 0
  assert client.post(f"/api/s/{alice.token}/ratings", data=b"x" * 20000).status_code == 413


def test_api_reports_duplicates_and_the_next_pair(study, client):
  session = study.add_rater()
  state = client.get(f"/api/s/{session.token}").get_json()
  nxt = state["next"]
  assert nxt["phase"] == "training" and state["progress"]["training_total"] == 1
  body = {"pair_id": nxt["pair_id"], "score_left": 40, "score_right": 60}
  first = _api(client, session.token, body).get_json()
  again = _api(client, session.token, body).get_json()
  assert (first["status"], again["status"]) == ("created", "duplicate")
  assert first["next"] == again["next"] and first["next"]["phase"] == "test"
  conflict = _api(client, session.token, {**body, "score_left": 41})
  assert conflict.status_code == 409
  assert len(db_rows(study)) == 1


def test_admin_page_lists_raters_adds_one_and_exports(study, client):
  session = study.add_rater("alice")
  item = study.next_item(session.token)[0]
  study.record_rating(session.token, item.pair_id, 1, 2)
  assert client.get("/admin/wrong").status_code == 404
  page = client.get(f"/admin/{study.admin_token}").get_data(as_text=True)
  assert "alice" in page and f"/s/{session.token}" in page
  resp = client.post(f"/admin/{study.admin_token}/raters", data={"rater_id": "bob"})
  assert resp.status_code == 303
  assert [r["rater_id"] for r in study.raters()] == ["alice", "bob"]
  assert client.post(f"/admin/{study.admin_token}/raters",
                     data={"rater_id": "bob"}).status_code == 422
  exported = client.get(f"/admin/{study.admin_token}/ratings.csv").get_data(as_text=True)
  rows = list(csv.DictReader(io.StringIO(exported)))
  assert len(rows) == 1 and rows[0]["rater_id"] == "alice" and rows[0]["phase"] == "training"


def test_break_is_due_after_thirty_minutes_without_a_pause():
  minute = 60.0
  steady = [k * minute for k in range(31)]               # a rating every minute for 30 min
  assert app_lib.break_due(steady, 30 * minute + 10)
  assert not app_lib.break_due(steady[:20], 20 * minute)
  paused = steady[:10] + [t + 6 * minute for t in steady[10:]]   # a 7-minute gap at minute 10
  assert not app_lib.break_due(paused, paused[-1] + 10)
  assert not app_lib.break_due(steady, 30 * minute + 6 * minute)  # resting now
  assert not app_lib.break_due([], 0.0)


# --- command line ---------------------------------------------------------------------------------

def test_cli_create_invite_export_screen(selection, tmp_path, capsys):
  folder, quality = selection
  study_dir = str(tmp_path / "study")
  assert cli.main(["create", "--from", folder, "--study", study_dir, "--seed", "5"]) == 0
  assert "12 pairs, 1 training pairs" in capsys.readouterr().out
  tokens = []
  for k in range(8):
    assert cli.main(["invite" if k % 2 else "add-rater", "--study", study_dir,
                     "--base-url", "http://lab:9000/"]) == 0
    rater_id, link = capsys.readouterr().out.strip().split("\t")
    assert rater_id == f"rater-{k + 1:03d}" and link.startswith("http://lab:9000/s/")
    tokens.append(link.rsplit("/", 1)[1])
  study = storage.Study(study_dir)
  rng = np.random.default_rng(0)
  for k, token in enumerate(tokens):
    while (item := study.next_item(token)[0]) is not None:
      noisy = [quality[getattr(item, side)["image_id"]] + rng.normal(0, 5) for side in
               ("left", "right")]
      if k == 0:   # one careless rater
        noisy = rng.uniform(0, 100, 2)
      study.record_rating(token, item.pair_id, *np.clip(np.round(noisy), 0, 100))
  out_csv, mos_csv = tmp_path / "ratings.csv", tmp_path / "mos.csv"
  assert cli.main(["export", "--study", study_dir, "--out", str(out_csv)]) == 0
  assert cli.main(["screen", "--study", study_dir, "--out", str(mos_csv)]) == 0
  printed = capsys.readouterr().out
  assert "8 raters" in printed
  rows = list(csv.DictReader(open(out_csv)))
  assert len(rows) == 8 * 13
  # MOS re-computed independently from the exported CSV (test pairs only, one mean per rater and
  # image first), with the raters the report rejected left out.
  report = json.load(open(tmp_path / "mos.screening.json"))
  rejected = {r["rater_id"] for r in report["rejected"]}
  per_rater = {}
  for row in rows:
    if row["phase"] != "test" or row["rater_id"] in rejected:
      continue
    for image, score in ((row["image_a"], row["score_a"]), (row["image_b"], row["score_b"])):
      per_rater.setdefault(image, {}).setdefault(row["rater_id"], []).append(float(score))
  table = results.read_mos_csv(str(mos_csv))
  assert set(table.image_ids) == set(per_rater)
  for image, m, s, n in zip(table.image_ids, table.mos, table.std, table.n_raters, strict=True):
    opinions = [np.mean(v) for v in per_rater[image].values()]
    assert m == pytest.approx(np.mean(opinions)) and n == len(opinions)
    if n > 1:
      assert s == pytest.approx(np.std(opinions, ddof=1))
  # The matrix the CLI screened is the one storage gives; screening it directly agrees.
  ratings, raters, _ = study.ratings_matrix()
  assert rejected == {raters[j] for j in np.flatnonzero(screening.bt500_screen(ratings))}


def test_cli_errors_are_for_people(tmp_path, capsys):
  assert cli.main(["export", "--study", str(tmp_path), "--out", "x.csv"]) == 2
  assert "not a study folder" in capsys.readouterr().err
  assert cli.main(["create", "--from", str(tmp_path), "--study", str(tmp_path / "s")]) == 2
  assert "no manifest.json" in capsys.readouterr().err

"""A rater in a real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright).

Opens their link, does the training pair and the test pairs with the keyboard and the sliders,
reloads mid-way, stops (closes the browser) and resumes, finishes; the ratings in SQLite equal
what was entered, per image. Saves a screenshot of the rating page to tests/artifacts/.

Never downloads a browser: if Chromium is missing the test fails and says how to install it.
"""

import os
import re
import sqlite3
import subprocess
import sys

import pytest

from biqa_jax.subjective import demo, storage
from test_subjective_load import RunningServer

CHROMIUM = os.environ.get("BIQA_CHROMIUM", "/usr/bin/chromium")
# Flags for a closed network and a container (see the machine notes): no sandbox (root), no GPU,
# no background connections to Google's services.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-dev-shm-usage"]
ARTIFACTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "artifacts")
SCREENSHOT = os.path.join(ARTIFACTS, "subjective_rating_page.png")
N_PAIRS = 4


def _browser(playwright):
  if not os.path.exists(CHROMIUM):
    pytest.fail(f"Chromium not found at {CHROMIUM}: the browser test needs Debian's chromium "
                f"package (`apt-get install -y chromium`; .ci/run installs it). Set BIQA_CHROMIUM "
                f"to use another binary. No browser is ever downloaded.")
  return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)


def set_slider_by_keyboard(page, selector, value):
  """Home, then PgUp (+10) and → (+1): what a keyboard-only rater does."""
  page.focus(selector)
  page.keyboard.press("Home")
  for _ in range(value // 10):
    page.keyboard.press("PageUp")
  for _ in range(value % 10):
    page.keyboard.press("ArrowRight")


def shown_pair(page):
  """(pair_id, left image index, right image index, progress text) of the page."""
  idx = [int(page.get_attribute(f"#image_{side}", "src").rsplit("/", 1)[1])
         for side in ("left", "right")]
  return (page.input_value("input[name=pair_id]"), idx[0], idx[1],
          page.inner_text("#progress-text"))


@pytest.mark.slow
def test_a_rater_rates_reloads_resumes_and_finishes_in_chromium(tmp_path):
  try:
    from playwright.sync_api import sync_playwright
  except ImportError:
    pytest.fail("playwright is not installed: pip install -e '.[test]' (the Python package only; "
                "the browser is Debian's chromium).")
  folder = str(tmp_path / "selection")
  demo.write_demo_selection(folder, n_pairs=N_PAIRS, size=(256, 192), seed=4)
  study_dir = str(tmp_path / "study")
  subprocess.run([sys.executable, "-m", "biqa_jax.subjective", "create", "--from", folder,
                  "--study", study_dir], check=True, capture_output=True)
  server = RunningServer(study_dir, log_path=str(tmp_path / "server.log"))
  entered = {}   # pair_id -> {image_idx: score}
  try:
    out = subprocess.run([sys.executable, "-m", "biqa_jax.subjective", "add-rater", "--study",
                          study_dir, "--rater-id", "alice", "--base-url", server.url],
                         check=True, capture_output=True, text=True).stdout
    rater_id, link = out.strip().split("\t")
    assert rater_id == "alice" and re.fullmatch(re.escape(server.url) + r"/s/[\w-]{32,}", link)

    with sync_playwright() as p:
      browser = _browser(p)
      page = browser.new_page(viewport={"width": 1100, "height": 760})
      page.goto(link)

      # Training pair: nothing can be saved before both sliders are moved; keyboard only.
      assert page.inner_text(".phase") == "TRAINING" and "Pair 1 of 1" in page.content()
      assert page.is_disabled("#submit")
      assert page.evaluate("document.activeElement.id") == "score_left"   # focus starts there
      set_slider_by_keyboard(page, "#score_left", 83)
      assert page.is_disabled("#submit")
      page.keyboard.press("Tab")
      assert page.evaluate("document.activeElement.id") == "score_right"
      set_slider_by_keyboard(page, "#score_right", 27)
      assert page.inner_text("#value_left") == "83 — Excellent"
      assert page.inner_text("#value_right") == "27 — Poor"
      pair_id, left, right, _ = shown_pair(page)
      entered[pair_id] = {left: 83, right: 27}
      with page.expect_navigation():
        page.keyboard.press("Enter")

      # First test pair: images side by side at native resolution; the screenshot artefact.
      pair_id, left, right, progress = shown_pair(page)
      assert progress == f"Pair 1 of {N_PAIRS}" and page.inner_text(".phase") == "RATING"
      boxes = [page.eval_on_selector(f"#image_{s}", "e => [e.getBoundingClientRect().x, "
                                     "e.getBoundingClientRect().y, e.getBoundingClientRect().width,"
                                     " e.getBoundingClientRect().height, e.naturalWidth,"
                                     " e.naturalHeight, e.complete]") for s in ("left", "right")]
      for _, _, w, h, nw, nh, complete in boxes:
        assert complete and (w, h) == (nw, nh) == (256, 192)
      assert boxes[0][0] + boxes[0][2] < boxes[1][0] and boxes[0][1] == boxes[1][1]
      set_slider_by_keyboard(page, "#score_left", 64)
      set_slider_by_keyboard(page, "#score_right", 38)
      os.makedirs(ARTIFACTS, exist_ok=True)
      page.screenshot(path=SCREENSHOT, full_page=True)
      entered[pair_id] = {left: 64, right: 38}
      with page.expect_navigation():
        page.click("#submit")

      # Second pair: move one slider, then reload: nothing saved, the same pair comes back.
      second = shown_pair(page)
      assert second[3] == f"Pair 2 of {N_PAIRS}"
      page.fill("#score_left", "90")
      page.reload()
      assert shown_pair(page) == second
      assert page.inner_text("#value_left") == "not rated yet" and page.is_disabled("#submit")
      assert len(_db(study_dir)) == 2
      page.fill("#score_left", "15")
      page.fill("#score_right", "100")
      entered[second[0]] = {second[1]: 15, second[2]: 100}
      with page.expect_navigation():
        page.click("#submit")

      # Stop: take a break, close the browser altogether.
      with page.expect_navigation():
        page.click("a.break-link")
      assert "2 of 4 pairs rated so far" in page.inner_text("main")
      browser.close()

      # Resume in a fresh browser from the same link: pair 3, then finish.
      browser = _browser(p)
      page = browser.new_page(viewport={"width": 1100, "height": 760})
      page.goto(link)
      for k, (a, b) in enumerate([(0, 55), (71, 71)]):
        pair_id, left, right, progress = shown_pair(page)
        assert progress == f"Pair {3 + k} of {N_PAIRS}"
        page.fill("#score_left", str(a))
        page.fill("#score_right", str(b))
        entered[pair_id] = {left: a, right: b}
        with page.expect_navigation():
          page.click("#submit")
      assert f"All {N_PAIRS} pairs are rated" in page.inner_text("main")
      browser.close()
  finally:
    server.stop()

  stored = _db(study_dir)
  assert stored == entered
  assert len({pid for pid in stored if not pid.startswith("#")}) == N_PAIRS


def _db(study_dir):
  """{pair_id: {image_idx: score}} straight from SQLite, independent of the app's code."""
  with sqlite3.connect(os.path.join(study_dir, storage.DB_NAME)) as conn:
    rows = conn.execute("""SELECT pr.pair_id, pr.image_a, r.score_a, pr.image_b, r.score_b
                           FROM ratings r JOIN pairs pr USING (pair_idx)""").fetchall()
  return {pid: {a: sa, b: sb} for pid, a, sa, b, sb in rows}

"""The rating web app (Flask, served by waitress): one page per pair, one session per rater.

Rater pages (``TOKEN`` = the rater's secret; the link *is* the login):

* ``GET  /s/TOKEN``            the next unrated pair of this rater's plan (training first), or
  "finished". Reloading or coming back later shows the first pair not yet saved.
* ``POST /s/TOKEN``            form fields ``pair_id``, ``score_left``, ``score_right``: the rating
  is committed to SQLite, then the browser is redirected (303) to the next pair.
* ``GET  /s/TOKEN/break``      "your ratings are saved", with the link to resume.
* ``GET  /s/TOKEN/image/IDX``  an image of the study.

JSON API (the same checks; used by scripted clients and the load test):

* ``GET  /api/s/TOKEN``          ``{"rater_id", "progress", "next"}``.
* ``POST /api/s/TOKEN/ratings``  ``{"pair_id", "score_left", "score_right"[, "rater_id"]}`` →
  ``{"status": "created" | "duplicate", "progress", "next"}``. A request naming a ``rater_id`` other
  than the token's is refused (403).

Status codes: 400 malformed body (not a JSON object), 403 another rater's session, 404 unknown
token, 409 the pair was already rated with other scores, 413 body too large, 422 invalid field.
A refused request changes nothing.

Experimenter: ``GET /admin/ADMIN_TOKEN`` (progress of every rater, their links, add a rater) and
``GET /admin/ADMIN_TOKEN/ratings.csv``; the admin token is printed by ``serve``.
"""

from __future__ import annotations

import io
import json
import logging
import secrets
import time

import flask
import jinja2

from biqa_jax.subjective import pages, storage

MAX_BODY_BYTES = 16 * 1024
API_FIELDS = {"pair_id", "score_left", "score_right", "rater_id"}
BREAK_AFTER_S = 30 * 60   # method.md §7: breaks after at most 30 minutes
PAUSE_GAP_S = 5 * 60      # a gap this long between ratings counts as a break

_ASSETS = {"style.css": (pages.STYLE, "text/css"),
           "rate.js": (pages.SCRIPT, "text/javascript")}
_CSP = ("default-src 'none'; img-src 'self'; style-src 'self'; script-src 'self'; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")


def break_due(times: list[float], now: float, *, limit_s: float = BREAK_AFTER_S,
              gap_s: float = PAUSE_GAP_S) -> bool:
  """True when the current sitting (ratings without a pause ≥ ``gap_s``) lasts ≥ ``limit_s``."""
  if not times or now - times[-1] >= gap_s:
    return False
  start = times[-1]
  for earlier in reversed(times[:-1]):
    if start - earlier >= gap_s:
      break
    start = earlier
  return now - start >= limit_s


def create_app(study_dir: str, *, base_url: str | None = None) -> flask.Flask:
  study = storage.Study(study_dir)
  app = flask.Flask("biqa_jax.subjective")
  app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
  app.config["STUDY"] = study
  log = logging.getLogger("biqa_jax.subjective")

  # Templates live in pages.py; the .html names switch on Jinja's autoescaping.
  app.jinja_loader = jinja2.DictLoader({"base.html": pages.BASE, "rate.html": pages.RATE,
                                        "message.html": pages.MESSAGE, "admin.html": pages.ADMIN})

  def render(template: str, status: int = 200, **context):
    return flask.Response(flask.render_template(template, **context), status=status,
                          mimetype="text/html")

  def message(title: str, lines, status: int = 200, link=None, link_text=None):
    return render("message.html", status, title=title, lines=lines, link=link, link_text=link_text)

  def not_found():
    return message("Link not valid", ["This rating link is not known to the study. Check that "
                                      "you opened the whole link you were given."], 404)

  @app.after_request
  def headers(resp):
    resp.headers["Content-Security-Policy"] = _CSP
    resp.headers["Referrer-Policy"] = "no-referrer"   # the token is in the URL
    resp.headers["X-Content-Type-Options"] = "nosniff"
    if "Cache-Control" not in resp.headers:
      resp.headers["Cache-Control"] = "no-store"
    return resp

  @app.errorhandler(413)
  def too_large(_):
    if flask.request.path.startswith("/api/"):
      return flask.jsonify(error=f"body larger than {MAX_BODY_BYTES} bytes"), 413
    return message("Request too large", ["That request is larger than a rating can be."], 413)

  @app.errorhandler(405)
  def bad_method(_):
    return flask.jsonify(error=f"{flask.request.method} is not allowed here"), 405

  @app.get("/")
  def index():
    return message("Image quality study", ["This server collects image-quality ratings. Raters: "
                                           "open the personal link you were given."])

  @app.get("/favicon.ico")
  def favicon():
    return flask.Response(status=204)

  @app.get("/assets/<name>")
  def asset(name):
    if name not in _ASSETS:
      flask.abort(404)
    body, mime = _ASSETS[name]
    resp = flask.Response(body, mimetype=mime)
    resp.headers["Cache-Control"] = "public, max-age=3600"
    return resp

  # --- rater pages ---------------------------------------------------------------------------

  @app.get("/s/<token>")
  def rate(token):
    found = study.next_item(token)
    if found is None:
      return not_found()
    item, progress = found
    if item is None:
      return message("Thank you!", [f"All {progress.test_total} pairs are rated and saved. You "
                                    f"can close this window."])
    due = break_due(study.rating_times(token), time.time())
    return render("rate.html", token=token, item=item, progress=progress, break_due=due,
                  anchors=pages.ANCHORS)

  @app.post("/s/<token>")
  def rate_post(token):
    form = flask.request.form
    try:
      study.record_rating(token, form.get("pair_id"), form.get("score_left"),
                          form.get("score_right"))
    except storage.RatingError as err:
      if err.status == 404:
        return not_found()
      return message("Rating not saved", [str(err)], err.status,
                     link=flask.url_for("rate", token=token), link_text="Back to the rating page")
    return flask.redirect(flask.url_for("rate", token=token), code=303)

  @app.get("/s/<token>/break")
  def take_break(token):
    progress = study.progress(token)
    if progress is None:
      return not_found()
    return message("Your ratings are saved",
                   [f"{progress.test_done} of {progress.test_total} pairs rated so far. Rest your "
                    f"eyes; the link below (the same link as before) continues where you stopped."],
                   link=flask.url_for("rate", token=token), link_text="Continue rating")

  @app.get("/s/<token>/image/<int:idx>")
  def image(token, idx):
    if study.rater_id(token) is None:
      flask.abort(404)
    found = study.image_file(idx)
    if found is None:
      flask.abort(404)
    path, mime = found
    resp = flask.send_file(path, mimetype=mime, max_age=3600)
    resp.headers["Cache-Control"] = "private, max-age=3600"
    return resp

  # --- JSON API ------------------------------------------------------------------------------

  def api_error(message_text: str, status: int):
    return flask.jsonify(error=message_text), status

  def api_state(token):
    item, progress = study.next_item(token)
    nxt = None
    if item is not None:
      nxt = {"pair_id": item.pair_id, "phase": item.phase, "number": item.number,
             "total": item.total,
             "left": {k: item.left[k] for k in ("image_id", "width", "height")},
             "right": {k: item.right[k] for k in ("image_id", "width", "height")}}
    return {"progress": {"training_done": progress.training_done,
                         "training_total": progress.training_total,
                         "test_done": progress.test_done, "test_total": progress.test_total,
                         "finished": progress.finished},
            "next": nxt}

  @app.get("/api/s/<token>")
  def api_session(token):
    rater_id = study.rater_id(token)
    if rater_id is None:
      return api_error("unknown session", 404)
    return flask.jsonify(rater_id=rater_id, **api_state(token))

  @app.post("/api/s/<token>/ratings")
  def api_rate(token):
    rater_id = study.rater_id(token)
    if rater_id is None:
      return api_error("unknown session", 404)
    try:
      body = json.loads(flask.request.get_data(cache=False) or b"null",
                        parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError) as err:
      return api_error(f"body is not valid JSON: {err}", 400)
    if not isinstance(body, dict):
      return api_error("body must be a JSON object with pair_id, score_left, score_right", 400)
    unknown = set(body) - API_FIELDS
    if unknown:
      return api_error(f"unknown field(s) {sorted(unknown)}; expected {sorted(API_FIELDS)}", 422)
    missing = {"pair_id", "score_left", "score_right"} - set(body)
    if missing:
      return api_error(f"missing field(s) {sorted(missing)}", 422)
    if "rater_id" in body and body["rater_id"] != rater_id:
      log.warning("refused: session %s tried to write as rater %r", rater_id, body["rater_id"])
      return api_error("this link's session cannot write ratings for another rater", 403)
    try:
      status = study.record_rating(token, body["pair_id"], body["score_left"],
                                   body["score_right"])
    except storage.RatingError as err:
      return api_error(str(err), err.status)
    return flask.jsonify(status=status, **api_state(token))

  # --- experimenter --------------------------------------------------------------------------

  def check_admin(admin_token):
    if not secrets.compare_digest(admin_token.encode(), study.admin_token.encode()):
      flask.abort(404)

  def link(token):
    root = (base_url or flask.request.host_url).rstrip("/")
    return root + flask.url_for("rate", token=token)

  @app.get("/admin/<admin_token>")
  def admin(admin_token):
    check_admin(admin_token)
    raters = study.raters()
    for r in raters:
      r["link"] = link(r.pop("token"))
      if r["last_rating"] is not None:
        r["last_rating"] = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(r["last_rating"]))
    n_test, n_training = study.pair_counts()
    return render("admin.html", study_dir=study.dir, raters=raters, admin_token=admin_token,
                  n_test=n_test, n_training=n_training, new=flask.request.args.get("new"))

  @app.post("/admin/<admin_token>/raters")
  def admin_add_rater(admin_token):
    check_admin(admin_token)
    try:
      session = study.add_rater(flask.request.form.get("rater_id") or None)
    except storage.StudyError as err:
      return message("Rater not added", [str(err)], 422,
                     link=flask.url_for("admin", admin_token=admin_token), link_text="Back")
    return flask.redirect(flask.url_for("admin", admin_token=admin_token, new=session.rater_id),
                          code=303)

  @app.get("/admin/<admin_token>/ratings.csv")
  def admin_csv(admin_token):
    check_admin(admin_token)
    buf = io.StringIO()
    study.export_csv(buf)
    resp = flask.Response(buf.getvalue(), mimetype="text/csv")
    resp.headers["Content-Disposition"] = "attachment; filename=ratings.csv"
    return resp

  return app


def _reject_constant(name: str):
  raise ValueError(f"{name} is not a number")


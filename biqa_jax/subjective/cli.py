"""``python -m biqa_jax.subjective``: create a study, invite raters, serve, export, screen.

    python -m biqa_jax.subjective create --from SELECTION_DIR --study STUDY_DIR
    python -m biqa_jax.subjective add-rater --study STUDY_DIR [--rater-id ID] [--base-url URL]
    python -m biqa_jax.subjective serve --study STUDY_DIR [--host 127.0.0.1] [--port 8000]
    python -m biqa_jax.subjective export --study STUDY_DIR --out ratings.csv
    python -m biqa_jax.subjective screen --study STUDY_DIR --out mos.csv [--remove-outlier-ratings]
    python -m biqa_jax.subjective demo --out SELECTION_DIR     # a small selection to try it on

``invite`` is another name for ``add-rater``. ``serve`` prints the address it listens on and the
experimenter's page (progress, links, CSV) and runs until stopped (Ctrl-C).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from biqa_jax.subjective import study as study_lib
from biqa_jax.subjective import results, storage

DEFAULT_PORT = 8000


def _parser() -> argparse.ArgumentParser:
  p = argparse.ArgumentParser(prog="python -m biqa_jax.subjective",
                              description="Subjective test of gMAD pairs: web app, BT.500 "
                                          "screening, MOS export.")
  sub = p.add_subparsers(dest="command", required=True)

  c = sub.add_parser("create", help="create a study folder from a gMAD selection")
  c.add_argument("--from", dest="selection", required=True,
                 help="selection folder: manifest.json + images (see biqa_jax/subjective/study.py)")
  c.add_argument("--study", required=True, help="new (or empty) folder for the study")
  c.add_argument("--seed", type=int, default=None,
                 help="fix every rater's random order and left/right placement (default: random)")

  for name in ("add-rater", "invite"):
    a = sub.add_parser(name, help="add a rater and print their personal link")
    a.add_argument("--study", required=True)
    a.add_argument("--rater-id", default=None, help="optional id (default: rater-001, …)")
    a.add_argument("--base-url", default=f"http://127.0.0.1:{DEFAULT_PORT}",
                   help="address the raters reach the server at (default: %(default)s)")

  s = sub.add_parser("serve", help="run the rating web app")
  s.add_argument("--study", required=True)
  s.add_argument("--host", default="127.0.0.1",
                 help="interface to listen on (default: %(default)s, this machine only; use the "
                      "lab network's address to let other machines in)")
  s.add_argument("--port", type=int, default=DEFAULT_PORT, help="0 picks a free port")
  s.add_argument("--threads", type=int, default=8)

  e = sub.add_parser("export", help="write the raw ratings as CSV (safe while serving)")
  e.add_argument("--study", required=True)
  e.add_argument("--out", required=True)

  r = sub.add_parser("screen", help="BT.500 screening, then MOS and std per image as CSV")
  r.add_argument("--study", required=True)
  r.add_argument("--out", required=True, help="MOS CSV: image_id, mos, std, n_raters")
  r.add_argument("--report", default=None,
                 help="JSON list of rejected raters with why (default: OUT with .screening.json)")
  r.add_argument("--remove-outlier-ratings", action="store_true",
                 help="also drop single ratings outside mean ± t·std (method.md §7)")

  d = sub.add_parser("demo", help="write a small demo selection (bundled photos, distorted)")
  d.add_argument("--out", required=True, help="new folder for the selection")
  d.add_argument("--pairs", type=int, default=12)
  return p


def _serve(args) -> int:
  import waitress

  from biqa_jax.subjective import app as app_lib

  logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
  app = app_lib.create_app(args.study)
  try:
    server = waitress.create_server(app, host=args.host, port=args.port, threads=args.threads,
                                    ident="biqa_jax.subjective")
  except OSError as err:
    print(f"error: cannot listen on {args.host}:{args.port} ({err}); pick another --port.",
          file=sys.stderr)
    return 2
  root = f"http://{args.host}:{server.effective_port}"
  admin = app.config["STUDY"].admin_token
  print(f"Serving study {os.path.abspath(args.study)} at {root}/", flush=True)
  print(f"Experimenter page: {root}/admin/{admin}", flush=True)
  print(f"Add raters with: python -m biqa_jax.subjective add-rater --study {args.study} "
        f"--base-url {root}", flush=True)
  try:
    server.run()
  except KeyboardInterrupt:
    pass
  return 0


def main(argv=None) -> int:
  args = _parser().parse_args(argv)
  try:
    if args.command == "create":
      study = storage.create_study(args.selection, args.study, seed=args.seed)
      n_test, n_training = study.pair_counts()
      print(f"Created study {study.dir}: {n_test} pairs, {n_training} training pairs. Next: "
            f"python -m biqa_jax.subjective add-rater --study {args.study}")
    elif args.command in ("add-rater", "invite"):
      session = storage.Study(args.study).add_rater(args.rater_id)
      print(f"{session.rater_id}\t{args.base_url.rstrip('/')}/s/{session.token}")
    elif args.command == "serve":
      return _serve(args)
    elif args.command == "export":
      n = storage.Study(args.study).export_csv(args.out)
      print(f"Wrote {n} ratings to {args.out}")
    elif args.command == "screen":
      ratings, rater_ids, image_ids = storage.Study(args.study).ratings_matrix()
      if not rater_ids:
        raise storage.StudyError(f"{args.study} has no test ratings yet; nothing to screen.")
      table, report = results.screen_ratings(
          ratings, rater_ids, image_ids, remove_outlier_ratings=args.remove_outlier_ratings)
      report_path = args.report or os.path.splitext(args.out)[0] + ".screening.json"
      results.write_mos_csv(table, args.out)
      results.write_report(report, report_path)
      print(f"{len(rater_ids)} raters, {len(report.rejected)} rejected by BT.500 screening"
            + "".join(f"\n  {r['rater_id']}: {r['why']}" for r in report.rejected))
      print(f"Wrote MOS of {len(image_ids)} images to {args.out}; screening report {report_path}")
    elif args.command == "demo":
      from biqa_jax.subjective import demo

      if os.path.exists(args.out) and os.listdir(args.out):
        raise storage.StudyError(f"{args.out} exists and is not empty; give a new folder.")
      try:
        quality = demo.write_demo_selection(args.out, n_pairs=args.pairs)
      except ValueError as err:
        raise storage.StudyError(str(err)) from err
      print(f"Wrote a demo selection of {args.pairs} pairs ({len(quality)} images) to {args.out}")
  except (storage.StudyError, study_lib.SelectionError) as err:
    print(f"error: {err}", file=sys.stderr)
    return 2
  return 0

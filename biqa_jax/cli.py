"""``biqa`` console script.

``biqa score IMG [IMG ...] --checkpoint DIR [--json] [--batch-size N]`` prints one quality score
per image (higher = better) from a trained checkpoint (a training --workdir or a
``<stage>/checkpoints`` folder). Images are scored at full resolution, batched by shape.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys

from biqa_jax.data import images as image_io


def _positive_int(text: str) -> int:
  try:
    value = int(text)
  except ValueError:
    value = 0
  if value < 1:
    raise argparse.ArgumentTypeError(f"{text!r} is not a positive integer; use e.g. --batch-size 8")
  return value


def _parser() -> argparse.ArgumentParser:
  parser = argparse.ArgumentParser(prog="biqa", description=__doc__.split("\n\n")[0])
  sub = parser.add_subparsers(dest="command", required=True)
  score = sub.add_parser("score", help="score images with a trained checkpoint")
  score.add_argument("images", nargs="+", help="image files (PNG, JPEG, BMP, TIFF, ...)")
  score.add_argument("--checkpoint", required=True,
                     help="training workdir or <workdir>/<stage>/checkpoints folder")
  score.add_argument("--json", action="store_true", help="print JSON instead of CSV")
  score.add_argument("--batch-size", type=_positive_int, default=8, help="images per batch of equal size")
  return parser


def score(paths: list[str], checkpoint: str, batch_size: int = 8) -> list[float]:
  """Scores of the images at ``paths`` (raises ``ImageError`` naming a bad file)."""
  from biqa_jax import evaluate, inference, models  # JAX starts only when needed.

  apply_fn, params, meta = evaluate.load_trained_model(checkpoint)
  min_size = models.min_input_size(meta["model"].get("spp_levels", (1, 2, 3)))
  loaded = []
  for path in paths:
    image = image_io.load_image(path)
    image_io.check_min_size(image, min_size, path)
    loaded.append(image)
  return [float(s) for s in inference.predict(apply_fn, params["model"], loaded, batch_size)]


def main(argv: list[str] | None = None) -> int:
  args = _parser().parse_args(argv)
  from biqa_jax.checkpoints import CheckpointError

  try:
    scores = score(args.images, args.checkpoint, args.batch_size)
  except (image_io.ImageError, CheckpointError) as e:
    print(f"biqa: error: {e}", file=sys.stderr)
    return 2
  if args.json:
    print(json.dumps([{"image": p, "score": s} for p, s in zip(args.images, scores)], indent=2))
  else:
    writer = csv.writer(sys.stdout)
    writer.writerow(["image", "score"])
    writer.writerows([p, f"{s:.6f}"] for p, s in zip(args.images, scores))
  return 0


if __name__ == "__main__":
  sys.exit(main())

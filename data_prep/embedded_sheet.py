"""Image sheet of the embedded default data: one photo under every configured distortion type
(rows) and level (columns), each tile titled with its stand-in MOS, so a person can check the
distortions and the stand-in scores by eye.

  python data_prep/embedded_sheet.py --out embedded_sheet.png [--photo astronaut] [--short-side 256]
"""

import argparse

import numpy as np

from biqa_jax.data import embedded
from biqa_jax.data.image_set import PRISTINE


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--out", default="embedded_sheet.png")
  parser.add_argument("--photo", default="astronaut",
                      choices=[name for name, _ in embedded.PHOTOS])
  parser.add_argument("--short-side", type=int, default=256)
  parser.add_argument("--distortions", nargs="+",
                      default=["gaussian_blur", "white_noise", "jpeg", "contrast_change"])
  args = parser.parse_args()

  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt

  data = embedded.load_embedded(args.short_side, tuple(args.distortions))
  ref = [i for i, n in enumerate(data.names) if n == f"{args.photo}/pristine/0"][0]
  rows = len(data.distortion_names)
  fig, axes = plt.subplots(rows, 6, figsize=(13, 2.3 * rows), squeeze=False)
  for t, dname in enumerate(data.distortion_names):
    for lvl in range(6):
      if lvl == 0:
        i = ref
      else:
        i = int(np.flatnonzero((data.reference_index == ref) & (data.distortion == t)
                               & (data.level == lvl))[0])
      ax = axes[t, lvl]
      ax.imshow(data.images[i])
      ax.set_xticks([]), ax.set_yticks([])
      label = "reference" if data.distortion[i] == PRISTINE else f"{dname} L{lvl}"
      ax.set_title(f"{label}\nMOS {data.mos[i]:.1f} ± {data.std[i]:.1f}", fontsize=8)
  fig.tight_layout()
  fig.savefig(args.out, dpi=100)
  print(f"wrote {args.out}")


if __name__ == "__main__":
  main()

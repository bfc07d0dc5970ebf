"""Stage-2 training-step throughput: biqa_jax vs. an eager PyTorch twin of the same network.

Measures pairs/s of one Stage-2 step (method.md §3: fidelity loss on Thurstone probabilities,
Adam lr 1e-4, GDN projection after the update) at ``--batch`` pairs of ``--crop`` x ``--crop``
uint8 crops, i.e. ``2 * batch`` images through the network per step.

* ``biqa_jax``: exactly the production step,
  ``train.make_train_step(lambda p, x, y, g: train.stage2_loss(apply_fn, p, x, y, g),
  train.make_optimizer(1e-4, 2**-10))``, on ``{"model": params}`` projected once as
  ``train.run_stage`` does. Compile time (trace + lower + XLA compile of that jitted function)
  is measured separately and excluded; each step is timed up to ``jax.block_until_ready`` of
  its outputs.
* ``torch``: :class:`TorchBIQANet` below, eager mode: conv 3x3 same + bias -> GDN (1x1 conv of
  ``u^2`` with ``gamma``, bias ``beta``) -> max-pool 2x2 (none after the 4th stage), adaptive
  max-pooling 1/2/3 (same floor/ceil bins as ``biqa_net.spatial_pyramid_max_pool``), dense
  672->128 ReLU -> 1; ``torch.special.ndtr`` + fidelity loss (eps 1e-8); ``torch.optim.Adam``
  (lr 1e-4, optax's default betas/eps) followed by the same projection under ``no_grad``.
  NHWC uint8 batches are converted to NCHW float inside the step, as the JAX step converts
  uint8 inside ``jit``.

Each framework runs in its own subprocess, so peak RSS (``ru_maxrss`` of the child) and, on a
GPU, the framework's peak device memory are per framework. Both see the same batch (numpy
seed 0, reused every step: data loading is not timed) and, on CPU, all ``os.cpu_count()`` cores
(``torch.set_num_threads``; XLA's CPU backend uses every core by default).

Correctness guard, before timing: the torch model is loaded with the JAX initial parameters
(conv kernels HWIO -> OIHW, dense kernels transposed) and both run two steps on the same batch;
the losses of both steps and the parameters after the first step are compared.

Usage::

  python benchmarks/train_step.py                       # batch 16 pairs, 384x384 crops
  python benchmarks/train_step.py --crop 128 --warmup 3 --steps 5 --json out.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

LEARNING_RATE = 1e-4
GDN_LOWER_BOUND = 2.0**-10  # the paper's bound, config default (constraints.PAPER_LOWER_BOUND)
FIDELITY_EPS = 1e-8
EXPECTED_PARAMS = 159_377  # method.md §1: stored numbers with full 48x48 gammas
GUARD_STEPS = 2


def make_batch(batch: int, crop: int):
  """``(x [B,S,S,3] uint8, y [B,S,S,3] uint8, labels [B] float32)`` from numpy seed 0."""
  rng = np.random.default_rng(0)
  x = rng.integers(0, 256, (batch, crop, crop, 3), dtype=np.uint8)
  y = rng.integers(0, 256, (batch, crop, crop, 3), dtype=np.uint8)
  labels = rng.uniform(0.0, 1.0, batch).astype(np.float32)
  return x, y, labels


def peak_rss_mib() -> float:
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


# ------------------------------------------------------------------------------------------ JAX
def run_jax(args, exchange: str) -> dict:
  import jax
  import ml_collections

  from biqa_jax import constraints, models, train

  model = models.build_model(ml_collections.ConfigDict({}), seed=0)
  apply_fn, init = models.functional(model)
  if models.count_parameters(model) != EXPECTED_PARAMS:
    raise AssertionError(f"biqa_jax model has {models.count_parameters(model)} parameters, "
                         f"expected {EXPECTED_PARAMS}.")
  # As train.run_stage: a fresh init is projected once before the first step.
  params = {"model": constraints.project_gdn_params(init, GDN_LOWER_BOUND)}
  train_step = train.make_train_step(
      lambda p, x, y, g: train.stage2_loss(apply_fn, p, x, y, g),
      train.make_optimizer(LEARNING_RATE, GDN_LOWER_BOUND))
  opt_state = train.make_optimizer(LEARNING_RATE, GDN_LOWER_BOUND).init(params)
  x, y, labels = make_batch(args.batch, args.crop)
  x, y, labels = jax.device_put((x, y, labels))

  flat = lambda tree: {"/".join(str(getattr(k, "key", k)) for k in path): np.asarray(v)
                       for path, v in jax.tree_util.tree_leaves_with_path(tree)}
  np.savez(os.path.join(exchange, "init.npz"), **flat(params["model"]))

  t0 = time.perf_counter()
  train_step.lower(params, opt_state, x, y, labels).compile()  # fills the compilation cache
  compile_s = time.perf_counter() - t0

  guard_losses = []
  p, o = params, opt_state
  t0 = time.perf_counter()
  for k in range(GUARD_STEPS):
    p, o, loss = jax.block_until_ready(train_step(p, o, x, y, labels))
    guard_losses.append(float(loss))
    if k == 0:
      np.savez(os.path.join(exchange, "jax_step1.npz"), **flat(p["model"]))
  for _ in range(args.warmup):
    p, o, loss = jax.block_until_ready(train_step(p, o, x, y, labels))
  warmup_s = time.perf_counter() - t0

  times = []
  for _ in range(args.steps):
    t0 = time.perf_counter()
    p, o, loss = jax.block_until_ready(train_step(p, o, x, y, labels))
    times.append(time.perf_counter() - t0)
  if not math.isfinite(float(loss)):
    raise FloatingPointError(f"biqa_jax loss became {float(loss)} during timing.")

  device = jax.devices()[0]
  peak_device = None
  if device.platform != "cpu":
    stats = device.memory_stats() or {}
    peak_device = stats.get("peak_bytes_in_use")
  return {"framework": "biqa_jax", "version": f"jax {jax.__version__}",
          "device": (device.platform if device.platform == "cpu"
                     else f"{device.platform}:{device.device_kind}"),
          "threads": os.cpu_count(), "compile_s": compile_s, "warmup_s": warmup_s,
          "step_times_s": times, "guard_losses": guard_losses,
          "peak_rss_mib": peak_rss_mib(),
          "peak_device_mib": None if peak_device is None else peak_device / 2**20}


# ---------------------------------------------------------------------------------------- torch
def torch_model_class():
  """Builds the twin lazily so the JAX child never imports torch."""
  import torch
  import torch.nn.functional as F
  from torch import nn

  class TorchGDN(nn.Module):
    """``v_i = u_i / sqrt(beta_i + sum_j gamma_ij u_j^2)`` over channels of NCHW ``u``."""

    def __init__(self, channels: int):
      super().__init__()
      self.beta = nn.Parameter(torch.ones(channels))
      self.gamma = nn.Parameter(0.1 * torch.eye(channels))

    def forward(self, u):
      c = self.gamma.shape[0]
      norm = F.conv2d(u * u, self.gamma.view(c, c, 1, 1), self.beta)
      return u * torch.rsqrt(norm)

  class TorchBIQANet(nn.Module):
    """NCHW float twin of ``biqa_jax.models.BIQANet`` (same layer order and feature order)."""

    def __init__(self, channels: int = 48, hidden: int = 128, levels=(1, 2, 3)):
      super().__init__()
      self.levels = tuple(levels)
      cins = (3, channels, channels, channels)
      self.convs = nn.ModuleList(nn.Conv2d(c, channels, 3, padding=1, bias=True) for c in cins)
      self.gdns = nn.ModuleList(TorchGDN(channels) for _ in cins)
      self.fc1 = nn.Linear(sum(n * n for n in self.levels) * channels, hidden)
      self.fc2 = nn.Linear(hidden, 1)

    def forward(self, x):
      for k, (conv, gdn) in enumerate(zip(self.convs, self.gdns)):
        x = gdn(conv(x))
        if k < 3:
          x = F.max_pool2d(x, 2)
      b = x.shape[0]
      # biqa_jax orders features level by level, bins row-major, channels last.
      feats = [F.adaptive_max_pool2d(x, n).permute(0, 2, 3, 1).reshape(b, -1)
               for n in self.levels]
      h = F.relu(self.fc1(torch.cat(feats, dim=1)))
      return self.fc2(h)[:, 0]

    @torch.no_grad()
    def project_gdn(self, lower_bound: float):
      for gdn in self.gdns:
        gdn.gamma.copy_(torch.clamp(0.5 * (gdn.gamma + gdn.gamma.T), min=lower_bound))
        gdn.beta.clamp_(min=lower_bound)

    @torch.no_grad()
    def load_jax(self, flat: dict):
      """Copies ``biqa_jax`` parameters (``conv{k}/kernel`` HWIO, ``fc{k}/kernel`` [in, out])."""
      t = lambda a: torch.from_numpy(np.ascontiguousarray(a))
      for k in range(4):
        self.convs[k].weight.copy_(t(flat[f"conv{k + 1}/kernel"].transpose(3, 2, 0, 1)))
        self.convs[k].bias.copy_(t(flat[f"conv{k + 1}/bias"]))
        self.gdns[k].beta.copy_(t(flat[f"gdn{k + 1}/beta"]))
        self.gdns[k].gamma.copy_(t(flat[f"gdn{k + 1}/gamma"]))
      for name in ("fc1", "fc2"):
        getattr(self, name).weight.copy_(t(flat[f"{name}/kernel"].T))
        getattr(self, name).bias.copy_(t(flat[f"{name}/bias"]))

    def to_jax_names(self) -> dict:
      out = {}
      for k in range(4):
        out[f"conv{k + 1}/kernel"] = self.convs[k].weight.detach().cpu().numpy().transpose(2, 3, 1, 0)
        out[f"conv{k + 1}/bias"] = self.convs[k].bias.detach().cpu().numpy()
        out[f"gdn{k + 1}/beta"] = self.gdns[k].beta.detach().cpu().numpy()
        out[f"gdn{k + 1}/gamma"] = self.gdns[k].gamma.detach().cpu().numpy()
      for name in ("fc1", "fc2"):
        out[f"{name}/kernel"] = getattr(self, name).weight.detach().cpu().numpy().T
        out[f"{name}/bias"] = getattr(self, name).bias.detach().cpu().numpy()
      return out

  return TorchBIQANet


def run_torch(args, exchange: str) -> dict:
  import torch

  torch.set_num_threads(os.cpu_count())
  torch.manual_seed(0)
  device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
  sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)

  model = torch_model_class()()
  n_params = sum(p.numel() for p in model.parameters())
  assert n_params == EXPECTED_PARAMS, f"torch twin has {n_params} parameters, expected {EXPECTED_PARAMS}"
  model.load_jax(dict(np.load(os.path.join(exchange, "init.npz"))))
  model.to(device)
  # optax.adam defaults: b1 0.9, b2 0.999, eps 1e-8 (added to sqrt(v_hat)) -- torch's too.
  opt = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE, betas=(0.9, 0.999), eps=1e-8)
  x, y, labels = (torch.from_numpy(a).to(device) for a in make_batch(args.batch, args.crop))
  sqrt2 = math.sqrt(2.0)

  def train_step(images_x, images_y, g):
    to_float = lambda im: im.permute(0, 3, 1, 2).float() / 255.0
    f = model(torch.cat([to_float(images_x), to_float(images_y)]))
    f_x, f_y = f.chunk(2)
    p = torch.special.ndtr((f_x - f_y) / sqrt2)
    loss = (1.0 - torch.sqrt(p * g + FIDELITY_EPS)
            - torch.sqrt((1.0 - p) * (1.0 - g) + FIDELITY_EPS)).mean()
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    model.project_gdn(GDN_LOWER_BOUND)
    return loss.detach()

  guard_losses = []
  t0 = time.perf_counter()
  for k in range(GUARD_STEPS):
    guard_losses.append(float(train_step(x, y, labels)))
    if k == 0:
      np.savez(os.path.join(exchange, "torch_step1.npz"), **model.to_jax_names())
  for _ in range(args.warmup):
    train_step(x, y, labels)
  sync()
  warmup_s = time.perf_counter() - t0

  times = []
  for _ in range(args.steps):
    t0 = time.perf_counter()
    loss = train_step(x, y, labels)
    sync()
    times.append(time.perf_counter() - t0)
  if not math.isfinite(float(loss)):
    raise FloatingPointError(f"torch loss became {float(loss)} during timing.")

  name = f"cuda:{torch.cuda.get_device_name()}" if device.type == "cuda" else "cpu"
  return {"framework": "torch", "version": f"torch {torch.__version__}", "device": name,
          "threads": torch.get_num_threads(), "compile_s": None, "warmup_s": warmup_s,
          "step_times_s": times, "guard_losses": guard_losses,
          "peak_rss_mib": peak_rss_mib(),
          "peak_device_mib": (torch.cuda.max_memory_allocated() / 2**20
                              if device.type == "cuda" else None)}


# ---------------------------------------------------------------------------------------- main
def parse_args(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--batch", type=int, default=16, help="pairs per step (default 16)")
  parser.add_argument("--crop", type=int, default=384, help="crop side in px (default 384)")
  parser.add_argument("--steps", type=int, default=20, help="timed steps (default 20)")
  parser.add_argument("--warmup", type=int, default=3,
                      help=f"untimed steps after the {GUARD_STEPS} guard steps (default 3)")
  parser.add_argument("--json", metavar="OUT", help="write the results to this JSON file")
  parser.add_argument("--_worker", choices=("jax", "torch"), help=argparse.SUPPRESS)
  parser.add_argument("--_exchange", help=argparse.SUPPRESS)
  args = parser.parse_args(argv)
  if args.crop < 24:
    parser.error(f"--crop {args.crop}: the network needs at least 24x24 px.")
  if args.batch < 1 or args.steps < 1 or args.warmup < 0:
    parser.error("--batch and --steps must be >= 1 and --warmup >= 0.")
  return args


def run_worker(framework: str, args, exchange: str) -> dict:
  cmd = [sys.executable, os.path.abspath(__file__), "--_worker", framework,
         "--_exchange", exchange, "--batch", str(args.batch), "--crop", str(args.crop),
         "--steps", str(args.steps), "--warmup", str(args.warmup)]
  proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
  if proc.returncode != 0:
    raise SystemExit(f"{framework} worker failed (exit {proc.returncode}); see its stderr above.")
  return json.loads(proc.stdout.strip().splitlines()[-1])


def guard_report(exchange: str, jax_res: dict, torch_res: dict) -> dict:
  a = dict(np.load(os.path.join(exchange, "jax_step1.npz")))
  b = dict(np.load(os.path.join(exchange, "torch_step1.npz")))
  if sorted(a) != sorted(b):
    raise AssertionError(f"parameter names differ: {sorted(a)} vs {sorted(b)}")
  diffs = {k: float(np.max(np.abs(a[k] - b[k]))) for k in a}
  # The loss depends on f_x - f_y only, so fc2/bias has an exactly zero gradient; JAX returns
  # 0, torch a rounding residue that Adam's first step (lr * g / (|g| + eps)) blows up to as
  # much as lr. Reported separately so it does not hide the other parameters.
  others = {k: v for k, v in diffs.items() if k != "fc2/bias"}
  worst = max(others, key=others.get)
  # Adam's first step is lr * g / (|g| + eps), about lr * sign(g): an entry whose gradient is
  # at rounding level can step the other way, a difference of up to 2 lr. Counted, not hidden.
  flips = sum(int(np.sum(np.abs(a[k] - b[k]) > 0.1 * LEARNING_RATE)) for k in others)
  total = sum(a[k].size for k in others)
  report = {"param_max_abs_diff_after_step1": diffs, "entries_off_by_over_lr_10": flips,
            "steps": []}
  print("Correctness guard (same initial weights, same batch):")
  for k, (lj, lt) in enumerate(zip(jax_res["guard_losses"], torch_res["guard_losses"])):
    diff = abs(lj - lt)
    report["steps"].append({"step": k + 1, "loss_jax": lj, "loss_torch": lt,
                            "abs_diff": diff, "rel_diff": diff / max(abs(lj), 1e-30)})
    print(f"  step {k + 1}: loss biqa_jax {lj:.9g}  torch {lt:.9g}  "
          f"|diff| {diff:.2e}  rel {diff / max(abs(lj), 1e-30):.2e}")
  print(f"  params after step 1 (each moved by ~lr = {LEARNING_RATE:g}): max |diff| "
        f"{others[worst]:.2e} ({worst}); {flips} of {total} entries differ by > lr/10 "
        f"(gradient at rounding level, Adam steps ~lr * sign(g)); fc2/bias "
        f"{diffs['fc2/bias']:.2e} (its gradient is exactly 0: the loss sees only f_x - f_y)")
  return report


def main(argv=None):
  args = parse_args(argv)
  if args._worker:
    result = (run_jax if args._worker == "jax" else run_torch)(args, args._exchange)
    print(json.dumps(result))
    return

  with tempfile.TemporaryDirectory() as exchange:
    results = [run_worker("jax", args, exchange)]  # writes the initial weights first
    results.append(run_worker("torch", args, exchange))
    guard = guard_report(exchange, *results)

  for r in results:
    mean_s = float(np.mean(r["step_times_s"]))
    r["ms_per_step"] = 1e3 * mean_s
    r["ms_per_step_min"] = 1e3 * float(np.min(r["step_times_s"]))
    r["pairs_per_s"] = args.batch / mean_s
  jax_res, torch_res = results

  print(f"\nStage-2 train step, batch {args.batch} pairs ({2 * args.batch} images), "
        f"{args.crop}x{args.crop} crops, {args.warmup} warm-up + {args.steps} timed steps, "
        f"{os.cpu_count()} CPU threads")
  header = (f"{'framework':<10} {'version':<18} {'device':<14} {'pairs/s':>8} {'ms/step':>9} "
            f"{'min ms':>9} {'peak RSS MiB':>12} {'peak dev MiB':>12} {'compile s':>9} "
            f"{'warm-up s':>9}")
  print(header)
  print("-" * len(header))
  fmt = lambda v, spec: "-" if v is None else format(v, spec)
  for r in results:
    print(f"{r['framework']:<10} {r['version']:<18} {r['device']:<14} {r['pairs_per_s']:>8.2f} "
          f"{r['ms_per_step']:>9.1f} {r['ms_per_step_min']:>9.1f} {r['peak_rss_mib']:>12.0f} "
          f"{fmt(r['peak_device_mib'], '12.0f'):>12} {fmt(r['compile_s'], '9.2f'):>9} "
          f"{r['warmup_s']:>9.2f}")
  ratio = jax_res["pairs_per_s"] / torch_res["pairs_per_s"]
  print(f"\nbiqa_jax / torch pairs/s: {ratio:.2f}x")
  print(f"(compile s: trace + XLA compile of the jitted step, excluded from timing; warm-up s: "
        f"{GUARD_STEPS} guard + {args.warmup} warm-up steps)")

  if args.json:
    out = {"config": {"batch_pairs": args.batch, "crop": args.crop, "steps": args.steps,
                      "warmup": args.warmup, "cpu_count": os.cpu_count(),
                      "machine": platform.platform(), "python": platform.python_version()},
           "results": results, "ratio_jax_over_torch_pairs_per_s": ratio, "guard": guard,
           "date": time.strftime("%Y-%m-%d")}
    with open(args.json, "w") as f:
      json.dump(out, f, indent=2)
    print(f"wrote {args.json}")


if __name__ == "__main__":
  main()

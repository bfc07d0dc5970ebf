"""biqa_jax.fr_iqa against independent plain NumPy/SciPy re-implementations of the MATLAB code.

Each ``np_*`` function below is written from the authors' .m file with explicit loops and
scipy.signal / scipy.ndimage, without calling biqa_jax; the test images are random smooth fields
with random distortions (odd sizes where the downsampling edge rules matter).
"""

import numpy as np
import pytest
import scipy.ndimage
import scipy.signal
import skimage.metrics

from biqa_jax import fr_iqa
from biqa_jax.fr_iqa.vif import (  # sp5Filters tables: data, not code
  BFILT_1,
  BFILT_4,
  LO0FILT,
  LOFILT,
)

RGB2GRAY = np.array([0.298936021293775, 0.587043074451121, 0.114020904255103])


def random_pair(shape, seed):
  """A smooth random uint8 image and a blurred + noisy + shifted-colour version of it."""
  rng = np.random.default_rng(seed)
  field = scipy.ndimage.gaussian_filter(rng.normal(size=shape), (2, 2, 0)[:len(shape)])
  field = field + 0.15 * rng.normal(size=shape)
  ref = np.clip(np.round(128 + 60 * field / field.std()), 0, 255)
  dist = scipy.ndimage.gaussian_filter(ref, (1, 1, 0)[:len(shape)]) + rng.normal(0, 12, shape)
  if len(shape) == 3:
    dist = dist + np.array([10.0, -5.0, 0.0])
  return ref.astype(np.uint8), np.clip(np.round(dist), 0, 255).astype(np.uint8)


# ----------------------------------------------------------------------------- MATLAB built-ins
def np_rgb2gray(x):
  y = x.astype(np.float64) @ RGB2GRAY
  return np.floor(y + 0.5)


def np_fspecial_gaussian(n, sigma):
  h = np.zeros((n, n))
  for i in range(n):
    for j in range(n):
      h[i, j] = np.exp(-((i - (n - 1) / 2) ** 2 + (j - (n - 1) / 2) ** 2) / (2 * sigma ** 2))
  return h / h.sum()


def np_box_then_subsample(x, f, mode):
  """imfilter(x, ones(f)/f^2, mode, 'same') / conv2 same, then x(1:f:end, 1:f:end).

  MATLAB's centre of an f-tap filter is tap ``floor((f+1)/2)``, so output k covers inputs
  ``k - c ... k - c + f - 1`` with ``c = floor((f+1)/2) - 1``; out-of-range inputs mirrored
  (np.pad 'symmetric') or zero.
  """
  c = (f + 1) // 2 - 1
  padded = np.pad(x, ((c, f - 1 - c), (c, f - 1 - c)), mode="symmetric" if mode == "symmetric" else "constant")
  rows, cols = x.shape
  total = sum(padded[a:a + rows, b:b + cols] for a in range(f) for b in range(f))
  return (total / (f * f))[::f, ::f]


def np_filter2_valid(w, x):
  return scipy.signal.correlate2d(x, w, mode="valid")


def np_conv2_same(x, k):
  return scipy.signal.convolve2d(x, k, mode="same")


def auto_f(x):
  return max(1, int(np.floor(min(x.shape[:2]) / 256 + 0.5)))


# ----------------------------------------------------------------------------- models
def np_ssim_maps(x, y):
  w = np_fspecial_gaussian(11, 1.5)
  c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
  mu1, mu2 = np_filter2_valid(w, x), np_filter2_valid(w, y)
  s1 = np_filter2_valid(w, x * x) - mu1 ** 2
  s2 = np_filter2_valid(w, y * y) - mu2 ** 2
  s12 = np_filter2_valid(w, x * y) - mu1 * mu2
  ssim_map = ((2 * mu1 * mu2 + c1) * (2 * s12 + c2)) / ((mu1 ** 2 + mu2 ** 2 + c1) * (s1 + s2 + c2))
  return ssim_map, (2 * s12 + c2) / (s1 + s2 + c2)


def np_ssim(ref, dist, downsample=True):
  x, y = np_rgb2gray(ref), np_rgb2gray(dist)
  f = auto_f(x)
  if downsample and f > 1:
    x, y = np_box_then_subsample(x, f, "symmetric"), np_box_then_subsample(y, f, "symmetric")
  return np_ssim_maps(x, y)[0].mean()


def np_ms_ssim(ref, dist):
  x, y = np_rgb2gray(ref), np_rgb2gray(dist)
  weights = [0.0448, 0.2856, 0.3001, 0.2363, 0.1333]
  mssim, mcs = [], []
  for _ in range(5):
    s, c = np_ssim_maps(x, y)
    mssim.append(s.mean())
    mcs.append(c.mean())
    x, y = np_box_then_subsample(x, 2, "symmetric"), np_box_then_subsample(y, 2, "symmetric")
  return np.prod([mcs[i] ** weights[i] for i in range(4)]) * mssim[4] ** weights[4]


def np_gmsd(ref, dist):
  x = np_box_then_subsample(np_rgb2gray(ref), 2, "zero")
  y = np_box_then_subsample(np_rgb2gray(dist), 2, "zero")
  dx = np.array([[1, 0, -1], [1, 0, -1], [1, 0, -1]]) / 3
  g1 = np.sqrt(np_conv2_same(x, dx) ** 2 + np_conv2_same(x, dx.T) ** 2)
  g2 = np.sqrt(np_conv2_same(y, dx) ** 2 + np_conv2_same(y, dx.T) ** 2)
  gms = (2 * g1 * g2 + 170) / (g1 ** 2 + g2 ** 2 + 170)
  return np.std(gms, ddof=1)


def np_mdsi(ref, dist, combination="sum"):
  f = auto_f(ref)
  chans = lambda im: [np_box_then_subsample(im[..., k].astype(np.float64), f, "zero") for k in range(3)]
  r1, g1, b1 = chans(ref)
  r2, g2, b2 = chans(dist)
  l1, l2 = 0.2989 * r1 + 0.5870 * g1 + 0.1140 * b1, 0.2989 * r2 + 0.5870 * g2 + 0.1140 * b2
  h1, h2 = 0.30 * r1 + 0.04 * g1 - 0.35 * b1, 0.30 * r2 + 0.04 * g2 - 0.35 * b2
  m1, m2 = 0.34 * r1 - 0.60 * g1 + 0.17 * b1, 0.34 * r2 - 0.60 * g2 + 0.17 * b2
  dx = np.array([[1, 0, -1], [1, 0, -1], [1, 0, -1]]) / 3
  grad = lambda im: np.sqrt(np_conv2_same(im, dx) ** 2 + np_conv2_same(im, dx.T) ** 2)
  gr, gd, gf = grad(l1), grad(l2), grad(0.5 * (l1 + l2))
  gs12 = (2 * gr * gd + 140) / (gr ** 2 + gd ** 2 + 140)
  gs13 = (2 * gr * gf + 55) / (gr ** 2 + gf ** 2 + 55)
  gs23 = (2 * gd * gf + 55) / (gd ** 2 + gf ** 2 + 55)
  gs_hvs = gs12 + gs23 - gs13
  cs = (2 * (h1 * h2 + m1 * m2) + 550) / (h1 ** 2 + h2 ** 2 + m1 ** 2 + m2 ** 2 + 550)
  if combination == "sum":
    gcs = (0.6 * gs_hvs + 0.4 * cs).astype(complex)
  else:
    gcs = gs_hvs.astype(complex) ** 0.2 * cs.astype(complex) ** 0.1
  v = gcs.ravel() ** 0.25
  return np.mean(np.abs(v - v.mean())) ** 0.25


def np_vifp(ref, dist):
  x, y = np_rgb2gray(ref), np_rgb2gray(dist)
  num = den = 0.0
  for scale in range(1, 5):
    n = 2 ** (4 - scale + 1) + 1
    w = np_fspecial_gaussian(n, n / 5)
    if scale > 1:
      x, y = np_filter2_valid(w, x)[::2, ::2], np_filter2_valid(w, y)[::2, ::2]
    mu1, mu2 = np_filter2_valid(w, x), np_filter2_valid(w, y)
    s1 = np.maximum(np_filter2_valid(w, x * x) - mu1 ** 2, 0)
    s2 = np.maximum(np_filter2_valid(w, y * y) - mu2 ** 2, 0)
    s12 = np_filter2_valid(w, x * y) - mu1 * mu2
    g = s12 / (s1 + 1e-10)
    sv = s2 - g * s12
    g[s1 < 1e-10] = 0
    sv[s1 < 1e-10] = s2[s1 < 1e-10]
    s1[s1 < 1e-10] = 0
    g[s2 < 1e-10] = 0
    sv[s2 < 1e-10] = 0
    sv[g < 0] = s2[g < 0]
    g[g < 0] = 0
    sv[sv <= 1e-10] = 1e-10
    num += np.sum(np.log10(1 + g ** 2 * s1 / (sv + 2)))
    den += np.sum(np.log10(1 + s1 / 2))
  return num / den


def _pc_range(n):
  return (np.arange(-(n - 1) / 2, (n - 1) / 2 + 1) / (n - 1)) if n % 2 else np.arange(-n / 2, n / 2) / n


def np_phasecong2(im):
  rows, cols = im.shape
  nscale, norient, k, eps = 4, 4, 2.0, 1e-4
  theta_sigma = np.pi / norient / 1.2
  imagefft = np.fft.fft2(im)
  x, y = np.meshgrid(_pc_range(cols), _pc_range(rows))
  radius = np.fft.ifftshift(np.sqrt(x ** 2 + y ** 2))
  theta = np.fft.ifftshift(np.arctan2(-y, x))
  radius[0, 0] = 1
  lp = np.fft.ifftshift(1.0 / (1.0 + (np.sqrt(x ** 2 + y ** 2) / 0.45) ** 30))
  log_gabor = []
  for s in range(nscale):
    fo = 1.0 / (6 * 2 ** s)
    lg = np.exp(-(np.log(radius / fo)) ** 2 / (2 * np.log(0.55) ** 2)) * lp
    lg[0, 0] = 0
    log_gabor.append(lg)
  energy_all = np.zeros((rows, cols))
  an_all = np.zeros((rows, cols))
  for o in range(norient):
    angl = o * np.pi / norient
    ds = np.sin(theta) * np.cos(angl) - np.cos(theta) * np.sin(angl)
    dc = np.cos(theta) * np.cos(angl) + np.sin(theta) * np.sin(angl)
    spread = np.exp(-np.abs(np.arctan2(ds, dc)) ** 2 / (2 * theta_sigma ** 2))
    sum_e = np.zeros((rows, cols)); sum_o = np.zeros((rows, cols)); sum_an = np.zeros((rows, cols))
    eo, ifft_filters = [], []
    for s in range(nscale):
      filt = log_gabor[s] * spread
      ifft_filters.append(np.real(np.fft.ifft2(filt)) * np.sqrt(rows * cols))
      eo.append(np.fft.ifft2(imagefft * filt))
      sum_an += np.abs(eo[s]); sum_e += np.real(eo[s]); sum_o += np.imag(eo[s])
      if s == 0:
        em_n = np.sum(filt ** 2)
    x_energy = np.sqrt(sum_e ** 2 + sum_o ** 2) + eps
    mean_e, mean_o = sum_e / x_energy, sum_o / x_energy
    energy = np.zeros((rows, cols))
    for s in range(nscale):
      e, od = np.real(eo[s]), np.imag(eo[s])
      energy += e * mean_e + od * mean_o - np.abs(e * mean_o - od * mean_e)
    noise_power = -np.median(np.abs(eo[0]) ** 2) / np.log(0.5) / em_n
    est_sum_an2 = sum(f ** 2 for f in ifft_filters).sum()
    est_sum_aiaj = sum((ifft_filters[i] * ifft_filters[j]).sum()
                       for i in range(nscale - 1) for j in range(i + 1, nscale))
    tau = np.sqrt((2 * noise_power * est_sum_an2 + 4 * noise_power * est_sum_aiaj) / 2)
    t = (tau * np.sqrt(np.pi / 2) + k * np.sqrt((2 - np.pi / 2) * tau ** 2)) / 1.7
    energy_all += np.maximum(energy - t, 0)
    an_all += sum_an
  return energy_all / an_all


def np_fsim(ref, dist):
  ref, dist = ref.astype(np.float64), dist.astype(np.float64)
  yiq = lambda im: (im @ [0.299, 0.587, 0.114], im @ [0.596, -0.274, -0.322], im @ [0.211, -0.523, 0.312])
  f = auto_f(ref)
  y1, i1, q1 = [np_box_then_subsample(c, f, "zero") for c in yiq(ref)]
  y2, i2, q2 = [np_box_then_subsample(c, f, "zero") for c in yiq(dist)]
  pc1, pc2 = np_phasecong2(y1), np_phasecong2(y2)
  dx = np.array([[3, 0, -3], [10, 0, -10], [3, 0, -3]]) / 16
  dy = np.array([[3, 10, 3], [0, 0, 0], [-3, -10, -3]]) / 16
  g1 = np.sqrt(np_conv2_same(y1, dx) ** 2 + np_conv2_same(y1, dy) ** 2)
  g2 = np.sqrt(np_conv2_same(y2, dx) ** 2 + np_conv2_same(y2, dy) ** 2)
  s_pc = (2 * pc1 * pc2 + 0.85) / (pc1 ** 2 + pc2 ** 2 + 0.85)
  s_g = (2 * g1 * g2 + 160) / (g1 ** 2 + g2 ** 2 + 160)
  pcm = np.maximum(pc1, pc2)
  s_i = (2 * i1 * i2 + 200) / (i1 ** 2 + i2 ** 2 + 200)
  s_q = (2 * q1 * q2 + 200) / (q1 ** 2 + q2 ** 2 + 200)
  fsim = np.sum(s_g * s_pc * pcm) / pcm.sum()
  fsimc = np.sum(s_g * s_pc * np.real((s_i * s_q).astype(complex) ** 0.03) * pcm) / pcm.sum()
  return fsim, fsimc


def np_imresize_linear(im, out_rows, out_cols):
  """Octave image-package imresize(im, [r c], 'bilinear') on a 2-D double image, by loops."""
  def along(a, n_out):  # resize axis 0
    n_in = a.shape[0]
    s = n_out / n_in
    out = np.zeros((n_out,) + a.shape[1:])
    for k in range(n_out):
      z = 0.5 + 1 / s / 2 + k / s  # 1-based position
      support = 1 / s if s < 1 else 1.0
      for i in range(int(np.floor(z - support)) - 1, int(np.ceil(z + support)) + 2):
        h = i - z
        w = s * max(0.0, 1 - abs(s * h)) if s < 1 else max(0.0, 1 - abs(h))
        if w == 0:
          continue
        j = i - 1  # 0-based, mirror ("symmetric") outside
        period = j // n_in
        j = j % n_in
        if period % 2:
          j = n_in - 1 - j
        out[k] += w * a[j]
    return out
  return along(along(im.T, out_cols).T, out_rows)


def np_sdsp(rgb):
  rows, cols = rgb.shape[:2]
  im = np.stack([np_imresize_linear(rgb[..., c].astype(np.float64), 256, 256) for c in range(3)], -1)
  c = im / 255
  lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
  m = np.array([[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750],
                [0.0193339, 0.1191920, 0.9503041]])
  xyz = lin @ m.T / np.array([0.9642, 1.0, 0.8251])
  fxyz = np.where(xyz > 0.008856, np.cbrt(xyz), (903.3 * xyz + 16) / 116)
  lab = np.stack([116 * fxyz[..., 1] - 16, 500 * (fxyz[..., 0] - fxyz[..., 1]),
                  200 * (fxyz[..., 1] - fxyz[..., 2])], -1)
  n = 256
  u1, u2 = np.meshgrid((np.arange(1, n + 1) - (n // 2 + 1)) / n, (np.arange(1, n + 1) - (n // 2 + 1)) / n)
  mask = ~(u1 ** 2 + u2 ** 2 > 0.25)
  u1, u2 = np.fft.ifftshift(u1 * mask), np.fft.ifftshift(u2 * mask)
  radius = np.sqrt(u1 ** 2 + u2 ** 2)
  radius[0, 0] = 1
  with np.errstate(divide="ignore"):
    lg = np.exp(-(np.log(radius / 0.021)) ** 2 / (2 * 1.34 ** 2))
  lg[0, 0] = 0
  sf = np.sqrt(sum(np.real(np.fft.ifft2(np.fft.fft2(lab[..., k]) * lg)) ** 2 for k in range(3)))
  ii, jj = np.mgrid[1:n + 1, 1:n + 1]
  sd = np.exp(-((ii - n / 2) ** 2 + (jj - n / 2) ** 2) / 145 ** 2)
  norm = lambda a: (a - a.min()) / (a.max() - a.min())
  sc = 1 - np.exp(-(norm(lab[..., 1]) ** 2 + norm(lab[..., 2]) ** 2) / 0.001 ** 2)
  vs = np_imresize_linear(sf * sd * sc, rows, cols)
  return (vs - vs.min()) / (vs.max() - vs.min())


def np_vsi(ref, dist):
  vs1, vs2 = np_sdsp(ref), np_sdsp(dist)
  lmn = lambda im: (im @ [0.06, 0.63, 0.27], im @ [0.30, 0.04, -0.35], im @ [0.34, -0.60, 0.17])
  f = auto_f(ref)
  down = lambda a: np_box_then_subsample(a, f, "zero")
  l1, m1, n1 = [down(a) for a in lmn(ref.astype(np.float64))]
  l2, m2, n2 = [down(a) for a in lmn(dist.astype(np.float64))]
  vs1, vs2 = down(vs1), down(vs2)
  dx = np.array([[3, 0, -3], [10, 0, -10], [3, 0, -3]]) / 16
  g1 = np.sqrt(np_conv2_same(l1, dx) ** 2 + np_conv2_same(l1, dx.T) ** 2)
  g2 = np.sqrt(np_conv2_same(l2, dx) ** 2 + np_conv2_same(l2, dx.T) ** 2)
  s_vs = (2 * vs1 * vs2 + 1.27) / (vs1 ** 2 + vs2 ** 2 + 1.27)
  s_g = (2 * g1 * g2 + 386) / (g1 ** 2 + g2 ** 2 + 386)
  s_m = (2 * m1 * m2 + 130) / (m1 ** 2 + m2 ** 2 + 130)
  s_n = (2 * n1 * n2 + 130) / (n1 ** 2 + n2 ** 2 + 130)
  w = np.maximum(vs1, vs2)
  return np.sum(s_g ** 0.4 * s_vs * np.real((s_m * s_n).astype(complex) ** 0.02) * w) / w.sum()


def np_nlpd(ref, dist):
  """NLP_dist.m with scipy.ndimage (mirror = MATLAB 'symmetric', constant = zero padding)."""
  f = np.array([0.05, 0.25, 0.4, 0.25, 0.05])
  filt = np.outer(f, f)
  sigmas = [0.0248, 0.0185, 0.0179, 0.0191, 0.0220, 0.2782]
  f2s = [np.array([[0, 0, 0, 0, 0], [0, 0, 0.1011, 0, 0], [0, 0.1493, 0, 0.1460, 0.0072],
                   [0, 0, 0.1015, 0, 0], [0, 0, 0, 0, 0]])]
  for t in ([0.0757, 0.1986, 0.1846, 0.0837], [0.0477, 0.2138, 0.2243, 0.0467], [0, 0.2503, 0.2616, 0],
            [0, 0.2598, 0.2552, 0], [0, 0.2215, 0.0717, 0]):
    f2 = np.zeros((5, 5))
    f2[1, 2], f2[2, 1], f2[2, 3], f2[3, 2] = t
    f2s.append(f2)

  def pyramid(im):
    bands, j = [], im
    for _ in range(5):
      low = scipy.ndimage.correlate(j, filt, mode="reflect")[::2, ::2]
      odd = 2 * np.array(low.shape) - np.array(j.shape)
      p = np.pad(low, 1, mode="edge")
      r = np.zeros((2 * p.shape[0], 2 * p.shape[1]))
      r[::2, ::2] = 4 * p
      r = scipy.ndimage.correlate(r, filt, mode="constant")
      bands.append(j - r[2:r.shape[0] - 2 - odd[0], 2:r.shape[1] - 2 - odd[1]])
      j = low
    bands.append(j)
    return [b / (s + np_conv2_same(np.abs(b), f2)) for b, s, f2 in zip(bands, sigmas, f2s)]

  y1, y2 = pyramid(np_rgb2gray(ref) / 255), pyramid(np_rgb2gray(dist) / 255)
  return np.mean([np.sqrt(np.mean((a - b) ** 2)) for a, b in zip(y1, y2)])


def np_vif(ref, dist):
  """vifvec.m: matlabPyrTools corrDn 'reflect1' = scipy.ndimage mode 'mirror'; inv() and eig() of C_U."""
  corr = lambda x, f: scipy.ndimage.correlate(x, f, mode="mirror")
  m = 3

  def pyramid(im):
    lo, bands = corr(im, LO0FILT), []
    for _ in range(4):
      bands.append([corr(lo, BFILT_1), corr(lo, BFILT_4)])
      lo = corr(lo, LOFILT)[::2, ::2]
    return bands

  px, py = pyramid(np_rgb2gray(ref)), pyramid(np_rgb2gray(dist))
  num = den = 0.0
  for scale in range(4):
    w = [17, 9, 5, 3][scale]
    for y, yn in zip(px[scale], py[scale]):
      rows, cols = (y.shape[0] // m) * m, (y.shape[1] // m) * m
      y, yn = y[:rows, :cols], yn[:rows, :cols]
      box = lambda a, w=w, rows=rows, cols=cols: corr(a, np.ones((w, w)))[1:rows - 1:m, 1:cols - 1:m]
      mx, my = box(y) / w ** 2, box(yn) / w ** 2
      cov = box(y * yn) - w ** 2 * mx * my
      sx = np.maximum(box(y * y) - w ** 2 * mx ** 2, 0)
      sy = np.maximum(box(yn * yn) - w ** 2 * my ** 2, 0)
      g = cov / (sx + 1e-10)
      vv = (sy - g * cov) / w ** 2
      g[sx < 1e-10] = 0
      vv[sx < 1e-10] = sy[sx < 1e-10]
      g[sy < 1e-10] = 0
      vv[sy < 1e-10] = 0
      vv[g < 0] = sy[g < 0]
      g[g < 0] = 0
      vv[vv < 1e-10] = 1e-10
      patches = np.array([y[k:rows - (m - k) + 1, j:cols - (m - j) + 1].ravel(order="F")
                          for j in range(m) for k in range(m)])
      cu = np.cov(patches, bias=True)
      blocks = np.array([y[k::m, j::m].ravel(order="F") for j in range(m) for k in range(m)])
      ss = np.sum((np.linalg.inv(cu) @ blocks) * blocks, axis=0).reshape(rows // m, cols // m, order="F") / 9
      lam = np.linalg.eigvalsh(cu)
      o = int(np.ceil((w - 1) / 2 / m))
      g, vv, ss = g[o:-o, o:-o], vv[o:-o, o:-o], ss[o:-o, o:-o]
      for lj in lam:
        num += np.sum(np.log2(1 + g * g * ss * lj / (vv + 0.4)))
        den += np.sum(np.log2(1 + ss * lj / 0.4))
  return num / den


# ----------------------------------------------------------------------------- tests
SMALL = (191, 187, 3)  # odd, non-square; shared with test_fr_iqa_properties.py (one compile per model)


@pytest.mark.parametrize("name, reference", [
    ("psnr", lambda r, d: skimage.metrics.peak_signal_noise_ratio(r, d, data_range=255)),
    ("ssim", np_ssim),
    ("ms_ssim", np_ms_ssim),
    ("gmsd", np_gmsd),
    ("mdsi", np_mdsi),
    ("vifp", np_vifp),
    ("fsim", lambda r, d: np_fsim(r, d)[0]),
    ("fsimc", lambda r, d: np_fsim(r, d)[1]),
    ("vsi", np_vsi),
    ("nlpd", np_nlpd),
    ("vif", np_vif),
])
def test_model_matches_independent_numpy(name, reference):
  ref, dist = random_pair(SMALL, seed=len(name))
  expected = reference(ref, dist)
  assert fr_iqa.compute(name, ref, dist) == pytest.approx(expected, rel=1e-4)


def test_mdsi_mult_matches_independent_numpy():
  ref, dist = random_pair(SMALL, seed=7)
  assert fr_iqa.compute("mdsi", ref, dist, combination="mult") == pytest.approx(
      np_mdsi(ref, dist, "mult"), rel=1e-4)


@pytest.mark.parametrize("shape", [(385, 391, 3), (641, 645, 3)])
def test_ssim_auto_downsampling_at_odd_sizes_and_factor_3(shape):
  """Rule A (mirror padding, MATLAB's even-filter centre) for f = 2 with odd sizes and for f = 3."""
  ref, dist = random_pair(shape, seed=1)
  assert fr_iqa.compute("ssim", ref, dist) == pytest.approx(np_ssim(ref, dist), rel=1e-4)


def test_mdsi_and_gmsd_zero_padded_downsampling_at_odd_sizes():
  """Rule B (zero padding) for MDSI's f = 2 and GMSD's fixed 2x2 at odd sizes."""
  ref, dist = random_pair((385, 391, 3), seed=2)
  assert fr_iqa.compute("mdsi", ref, dist) == pytest.approx(np_mdsi(ref, dist), rel=1e-4)
  assert fr_iqa.compute("gmsd", ref, dist) == pytest.approx(np_gmsd(ref, dist), rel=1e-4)

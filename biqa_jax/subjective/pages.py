"""HTML templates (Jinja, autoescaped), style sheet and script of the rating app.

Kept as Python strings so they ship with the package without package-data settings. The page
works without its script too (plain form post); the script adds: images at native resolution on
high-DPI screens, the value and its quality anchor next to each slider, "move both sliders
before saving", Enter to save, and no double submit.
"""

# The five ITU-R quality anchors of a continuous scale, centred on five equal intervals of 0–100.
ANCHORS = ("Bad", "Poor", "Fair", "Good", "Excellent")

BASE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{% block title %}Image quality study{% endblock %}</title>
<link rel="stylesheet" href="{{ url_for('asset', name='style.css') }}">
{% block head %}{% endblock %}
</head>
<body>
<main>
{% block body %}{% endblock %}
</main>
</body>
</html>
"""

RATE = """{% extends "base.html" %}
{% block title %}{{ 'Training' if item.phase == 'training' else 'Rating' }} — pair {{ item.number }} of {{ item.total }}{% endblock %}
{% block head %}<script src="{{ url_for('asset', name='rate.js') }}" defer></script>{% endblock %}
{% block body %}
<header class="bar">
  <span class="phase">{{ 'Training' if item.phase == 'training' else 'Rating' }}</span>
  <progress id="progress" max="{{ item.total }}" value="{{ item.number - 1 }}"
            aria-labelledby="progress-text"></progress>
  <span id="progress-text">Pair {{ item.number }} of {{ item.total }}</span>
  <a class="break-link" href="{{ url_for('take_break', token=token) }}">Take a break</a>
</header>
{% if item.phase == 'training' %}
<p class="note" id="training-note">Training: {{ 'this pair gets' if item.total == 1 else 'these ' ~ item.total ~ ' pairs get' }}
  you used to the scale and {{ 'is' if item.total == 1 else 'are' }} not part of the results.
  The {{ progress.test_total }} pairs of the study follow.</p>
{% endif %}
{% if break_due %}
<p class="note" role="status">You have been rating for more than 30 minutes: please take a short
  break. Your ratings are saved; this link brings you back to where you stopped.</p>
{% endif %}
<p class="instructions">Rate the quality of <strong>each</strong> image on its own slider, from
  Bad (left end) to Excellent (right end). The images are shown at their native resolution.
  <span class="keys">Keyboard: Tab moves to the next slider, ←/→ change by 1, PgUp/PgDn by 10,
  Enter saves.</span></p>
<form method="post" action="{{ url_for('rate', token=token) }}" id="rating-form">
  <input type="hidden" name="pair_id" value="{{ item.pair_id }}">
  <div class="pair">
  {% for side, image in (('left', item.left), ('right', item.right)) %}
    <figure class="side" id="{{ side }}">
      <figcaption id="caption_{{ side }}">{{ side | capitalize }} image</figcaption>
      <div class="frame">
        <img class="native" id="image_{{ side }}" src="{{ url_for('image', token=token, idx=image.idx) }}"
             width="{{ image.width }}" height="{{ image.height }}" alt="{{ side | capitalize }} image">
      </div>
      <label class="slider-label" for="score_{{ side }}">Quality of the {{ side }} image</label>
      <input type="range" class="slider" id="score_{{ side }}" name="score_{{ side }}"
             min="0" max="100" step="1" value="50" aria-describedby="anchors_{{ side }}">
      <div class="anchors" id="anchors_{{ side }}">
        {% for a in anchors %}<span>{{ a }}</span>{% endfor %}
      </div>
      <output class="value" id="value_{{ side }}" for="score_{{ side }}">not rated yet</output>
    </figure>
  {% endfor %}
  </div>
  <div class="actions">
    <button type="submit" id="submit">Save and continue</button>
    <span id="hint" aria-live="polite"></span>
  </div>
</form>
{% endblock %}
"""

MESSAGE = """{% extends "base.html" %}
{% block title %}{{ title }}{% endblock %}
{% block body %}
<div class="message">
<h1>{{ title }}</h1>
{% for line in lines %}<p>{{ line }}</p>{% endfor %}
{% if link %}<p><a id="continue" href="{{ link }}">{{ link_text }}</a></p>{% endif %}
</div>
{% endblock %}
"""

ADMIN = """{% extends "base.html" %}
{% block title %}Study {{ study_dir }}{% endblock %}
{% block body %}
<div class="message admin">
<h1>Study</h1>
<p><code>{{ study_dir }}</code> — {{ n_test }} pairs to rate, {{ n_training }} training pairs.</p>
<p><a href="{{ url_for('admin_csv', admin_token=admin_token) }}">Download the raw ratings (CSV)</a>.
  MOS after BT.500 screening: <code>python -m biqa_jax.subjective screen --study {{ study_dir }} --out mos.csv</code></p>
<form method="post" action="{{ url_for('admin_add_rater', admin_token=admin_token) }}">
  <label for="rater_id">New rater (optional id)</label>
  <input id="rater_id" name="rater_id" maxlength="100">
  <button type="submit">Add rater</button>
</form>
<table>
<thead><tr><th>rater</th><th>training</th><th>pairs rated</th><th>last rating (UTC)</th><th>link</th></tr></thead>
<tbody>
{% for r in raters %}
<tr{% if r.rater_id == new %} class="new"{% endif %}><td>{{ r.rater_id }}</td>
  <td>{{ r.training_done }} / {{ r.training_total }}</td><td>{{ r.test_done }} / {{ r.test_total }}</td>
  <td>{{ r.last_rating or '—' }}</td><td><code>{{ r.link }}</code></td></tr>
{% endfor %}
</tbody>
</table>
</div>
{% endblock %}
"""

STYLE = """
:root { color-scheme: dark; }
/* A neutral grey surround (about 15 % of peak white, as BT.500 asks of the background). */
body { margin: 0; background: #6b6b6b; color: #fff; font: 16px/1.4 "DejaVu Sans", "Liberation Sans",
       Arial, sans-serif; }
main { padding: 12px 20px 24px; }
a { color: #fff; }
a:focus, button:focus, input:focus { outline: 3px solid #ffd84d; outline-offset: 2px; }
.bar { display: flex; align-items: center; gap: 14px; flex-wrap: wrap; }
.phase { font-weight: bold; text-transform: uppercase; letter-spacing: .05em; }
#progress { width: 260px; height: 14px; }
.break-link { margin-left: auto; }
.note { background: #4d4d4d; padding: 6px 10px; border-left: 4px solid #ffd84d; }
.instructions { max-width: 70em; }
.keys { display: block; color: #e6e6e6; font-size: 14px; }
.pair { display: flex; flex-wrap: nowrap; gap: 32px; align-items: flex-start; overflow-x: auto;
        padding: 4px 2px 8px; }
.side { margin: 0; display: inline-flex; flex-direction: column; min-width: 340px; flex: none; }
figcaption { font-weight: bold; margin-bottom: 4px; }
.frame { line-height: 0; }
/* Native resolution: never scaled by the layout (the script corrects for high-DPI screens). */
img.native { max-width: none; max-height: none; display: block; }
.slider-label { margin-top: 10px; font-size: 14px; }
.slider { width: 100%; margin: 6px 0 0; accent-color: #ffd84d; }
/* Until moved, a slider is dimmed: its middle position is not a rating. */
.slider.unrated { opacity: .45; }
.anchors { display: grid; grid-template-columns: repeat(5, 1fr); text-align: center;
           font-size: 13px; border-top: 1px solid #ddd; padding-top: 2px; }
.anchors span { border-left: 1px solid #ddd; }
.anchors span:first-child { border-left: none; }
.value { margin-top: 4px; font-variant-numeric: tabular-nums; min-height: 1.4em; }
.value.unrated { color: #e6e6e6; font-style: italic; }
.actions { margin-top: 14px; display: flex; gap: 14px; align-items: center; }
button { font: inherit; padding: 8px 18px; border: none; border-radius: 4px; background: #ffd84d;
         color: #000; cursor: pointer; }
button:disabled { background: #999; color: #333; cursor: not-allowed; }
.message { max-width: 60em; }
.admin table { border-collapse: collapse; margin-top: 12px; }
.admin td, .admin th { border: 1px solid #aaa; padding: 4px 8px; text-align: left; }
.admin tr.new { background: #4d4d4d; }
"""

SCRIPT = """
"use strict";
(function () {
  var ANCHORS = ["Bad", "Poor", "Fair", "Good", "Excellent"];
  function anchor(v) { return ANCHORS[Math.min(4, Math.floor(v / 20))]; }

  document.addEventListener("DOMContentLoaded", function () {
    // One image pixel = one device pixel, also on screens with devicePixelRatio != 1.
    var dpr = window.devicePixelRatio || 1;
    document.querySelectorAll("img.native").forEach(function (img) {
      var w = +img.getAttribute("width"), h = +img.getAttribute("height");
      img.style.width = (w / dpr) + "px";
      img.style.height = (h / dpr) + "px";
    });

    var form = document.getElementById("rating-form");
    if (!form) return;
    var submit = document.getElementById("submit");
    var hint = document.getElementById("hint");
    var sliders = Array.prototype.slice.call(form.querySelectorAll("input.slider"));
    var touched = {};
    function refresh() {
      var missing = sliders.filter(function (s) { return !touched[s.id]; });
      submit.disabled = missing.length > 0;
      hint.textContent = missing.length ? "Move both sliders to continue." : "";
    }
    sliders.forEach(function (s) {
      var out = document.getElementById(s.id.replace("score_", "value_"));
      out.classList.add("unrated");
      s.classList.add("unrated");
      s.setAttribute("aria-valuetext", "not rated yet");
      function mark() {
        touched[s.id] = true;
        out.classList.remove("unrated");
        s.classList.remove("unrated");
        out.textContent = s.value + " — " + anchor(+s.value);
        s.setAttribute("aria-valuetext", s.value + ", " + anchor(+s.value));
        refresh();
      }
      s.addEventListener("input", mark);
      s.addEventListener("change", mark);
      s.addEventListener("pointerdown", mark);
      s.addEventListener("keydown", function (e) {
        if (e.key === "Enter") {
          e.preventDefault();
          if (!submit.disabled) form.requestSubmit();
        }
      });
    });
    form.addEventListener("submit", function (e) {
      if (submit.disabled && !form.dataset.sending) { e.preventDefault(); return; }
      if (form.dataset.sending) { e.preventDefault(); return; }
      form.dataset.sending = "1";
      submit.disabled = true;
      hint.textContent = "Saving…";
    });
    refresh();
    if (sliders.length) sliders[0].focus();
  });
})();
"""

"""biqa_jax: blind image quality assessment in JAX/Flax, improved by active fine-tuning from gMAD examples.

Where each part of the paper lives:

* ``biqa_jax.models``       the GDN network f_w (method.md §1)
* ``biqa_jax.constraints``  the GDN feasibility projection inside the optax update
* ``biqa_jax.losses``       Thurstone Case V, fidelity loss, multi-annotator likelihood (§2, §3)
* ``biqa_jax.metrics``      SRCC / KRCC / PLCC / RMSE after the 4-parameter logistic fit (§4)
* ``biqa_jax.train``        Stage 1 (D1) and Stage 2 (D2) training loops
* ``biqa_jax.evaluate``     restore a checkpoint, predict, report
* ``biqa_jax.data``         embedded default data, distortions, pairs
"""

__version__ = "0.1.0"

"""Installs biqa_jax: blind image quality assessment in JAX/Flax with active fine-tuning from gMAD examples."""

import setuptools

INSTALL_REQUIRES = [
    "jax>=0.7,<0.11",
    "flax>=0.12,<0.13",
    "optax>=0.2.5,<0.3",
    "orbax-checkpoint>=0.11,<0.13",
    "numpy>=1.26,<3",
    "scipy>=1.12,<2",
    "pillow>=10,<14",
    "tensorflow-datasets>=4.9,<5",
    "ml-collections>=1.0,<2",
    "absl-py>=2.1,<3",
    "tqdm>=4.66,<5",
    "matplotlib>=3.8,<4",
    # The embedded default data set is made from the photos bundled with scikit-image.
    "scikit-image>=0.24,<0.27",
    # The subjective-test web app (biqa_jax/subjective): Flask, served by waitress.
    "flask>=3.0,<4",
    "waitress>=3.0,<4",
]

EXTRAS_REQUIRE = {
    # playwright: the Python package only, driving Debian's /usr/bin/chromium (installed by
    # .ci/run with apt); no browser is downloaded.
    "test": ["pytest>=8,<10", "pytest-xdist>=3.5,<4", "playwright>=1.40,<2"],
    "gpu": ["jax[cuda12]>=0.7,<0.11"],
    # PyTorch (CPU build) for the side-by-side benchmarks in benchmarks/.
    "bench": ["torch>=2.4,<2.14"],
}

setuptools.setup(
    name="biqa_jax",
    version="0.1.0",
    description="Blind image quality assessment in JAX/Flax, improved by active fine-tuning from gMAD examples.",
    long_description=open("README.md", encoding="utf-8").read() if __import__("os").path.exists("README.md") else "",
    long_description_content_type="text/markdown",
    packages=setuptools.find_packages(include=["biqa_jax", "biqa_jax.*"]),
    python_requires=">=3.10",
    install_requires=INSTALL_REQUIRES,
    extras_require=EXTRAS_REQUIRE,
    entry_points={"console_scripts": ["biqa=biqa_jax.cli:main"]},
)

"""Installs mir (console script ``mir``); also the ``--setup_file`` of a Dataflow job, which
builds this package on every worker, schemas and prompts included."""
from setuptools import find_packages, setup

setup(
    name="mir-builder",
    version="0.1.0",
    description="Build MIR-style multi-image reasoning datasets with Apache Beam",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["pipeline", "pipeline.*"]) + ["pipeline._resources.schemas",
                                                                  "pipeline._resources.prompts"],
    # The repository keeps schemas/ and prompts/ at its top level; installed, they live inside
    # the package, where pipeline.resources finds them.
    package_dir={"pipeline._resources.schemas": "schemas", "pipeline._resources.prompts": "prompts"},
    package_data={"pipeline._resources.schemas": ["*.json"], "pipeline._resources.prompts": ["*.md"]},
    install_requires=[
        "apache-beam>=2.60",
        "pillow>=10",
        "opencv-python-headless>=4.8",
        "simplejpeg>=1.7",
        "threadpoolctl>=3.1",
        "imagehash>=4.3",
        "openai>=1.40",
        "pandas>=2.0",
        "pyarrow>=14",
        "jsonschema>=4.18",
        "fastjsonschema>=2.19",
        "referencing>=0.30",
        "pyyaml>=6",
        "numpy>=2.0",
        "av>=12",
    ],
    extras_require={
        # apache-beam[gcp] lets the tests build the Dataflow job graph; setuptools builds the
        # sdist that Dataflow's --setup_file stages; ruff is the linter `make test` runs first;
        # datasets loads a build the way its users do.
        "test": ["pytest>=8", "duckdb>=1.0", "apache-beam[gcp]", "setuptools", "ruff>=0.6", "datasets>=3.0"],
        "examples": ["scikit-image", "scikit-learn", "matplotlib"],
        # `make mutation` (not CI): mutation testing of the modules that decide answers and rejects.
        "mutation": ["mutmut>=3.3"],
    },
    entry_points={"console_scripts": ["mir=pipeline.cli:main"]},
)

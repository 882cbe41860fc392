# The quick start: `make sample` builds the bundled sample dataset, `make test` runs the tests.
# Both create .venv and install what they need first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: sample test install examples

$(BIN)/mir: setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(BIN)/mir

install: $(BIN)/mir

sample: install
	$(BIN)/mir build --manifest data_manifest.yaml --output out

# The preview test renders pages in Debian's Chromium; where it cannot be installed (no root,
# no apt) that one test is skipped with its reason.
test: install
	bash scripts/install_chromium.sh || echo "Chromium not installed: the browser test will be skipped"
	$(BIN)/python -m pytest -q tests

# Regenerates examples/ from images that ship inside scikit-image, scikit-learn and Matplotlib.
examples: install
	$(BIN)/pip install --quiet -e '.[examples]'
	$(BIN)/python scripts/make_examples.py

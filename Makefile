# The quick start: `make sample` builds the bundled sample dataset, `make test` runs the tests.
# Both create .venv and install what they need first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: sample test install examples mutation

# The install's chatter goes to .venv/install.log, shown only when the install fails.
$(BIN)/mir: setup.py
	$(PYTHON) -m venv $(VENV)
	@echo "installing mir and its dependencies into $(VENV) (log: $(VENV)/install.log)"
	@{ $(BIN)/pip install --upgrade pip && $(BIN)/pip install -e '.[test]'; } > $(VENV)/install.log 2>&1 \
		|| { cat $(VENV)/install.log; exit 1; }
	@touch $(BIN)/mir

install: $(BIN)/mir

sample: install
	$(BIN)/mir build --manifest data_manifest.yaml --output out --overwrite

# The preview test renders pages in Debian's Chromium; where it cannot be installed (no root,
# no apt) that one test is skipped with its reason.
test: install
	bash scripts/install_chromium.sh || echo "Chromium not installed: the browser test will be skipped"
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q tests

# Regenerates examples/ from images that ship inside scikit-image, scikit-learn and Matplotlib.
examples: install
	$(BIN)/pip install --quiet -e '.[examples]'
	$(BIN)/python scripts/make_examples.py

# Mutation testing (not part of CI; slow): mutmut changes the modules setup.cfg's [mutmut] names
# (answers, splits, dedup, difficulty, rejects) one small change at a time and runs the tests
# that pin them; survivors are listed at the end. docs/testing.md has the figures and the triage.
mutation: install
	$(BIN)/pip install --quiet -e '.[mutation]'
	$(BIN)/mutmut run --max-children $$(nproc)
	$(BIN)/mutmut results

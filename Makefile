# Two commands do all set-up on a fresh machine: `make run` (chat UI) and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# The CPU build of torch; on Linux with internet access add
#   TORCH="torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu"
# so pip does not fetch the several-GB CUDA build.
TORCH ?= torch==2.13.0

.PHONY: run test index install lint clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH)
	$(PY) -m pip install -q -e '.[test,ray]'
	touch $@

install: $(VENV)/.installed

run: install
	$(PY) app.py

test: install
	PYTHONFAULTHANDLER=1 $(PY) -m pytest -q

index: install
	$(VENV)/bin/qa index

lint: install
	$(VENV)/bin/ruff check qa tests app.py scripts benchmarks

clean:
	rm -rf $(VENV) index/CURRENT index/toc-* index/seg-* index/.seg-* index/.toc-* index/.lock index/gen-*

# Vigil: `make demo` runs it, `make test` proves it. The virtualenv lives in .venv/.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint bench venv clean browser

# Root installs Debian packages directly; anyone else through sudo.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/vigil demo

lint: $(STAMP)
	$(BIN)/ruff check vigil tests bench
	$(BIN)/mypy --strict vigil

# The web UI's end-to-end tests drive Debian's Chromium (no browser download at run time).
browser:
	command -v chromium >/dev/null || ($(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium)

test: lint browser
	$(BIN)/python -m pytest -q

bench: $(STAMP) browser
	command -v ffmpeg >/dev/null || (apt-get update -qq && apt-get install -y -qq ffmpeg)
	$(BIN)/python bench/record.py --streams 4 --seconds 60
	$(BIN)/python bench/playback.py --samples 50
	$(BIN)/python bench/live_latency.py --seconds 30 --viewers 4

clean:
	rm -rf $(VENV) .demo .pytest_cache .mypy_cache .ruff_cache

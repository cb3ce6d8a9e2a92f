"""The detector vigil.yml asks for: engine (ONNX Runtime or OpenCV DNN), execution providers, precision."""

from __future__ import annotations

from vigil.analytics.detector import Detector, YoloV3Tiny
from vigil.config import AnalyticsConfig
from vigil.errors import ConfigError


def check_engine(cfg: AnalyticsConfig) -> None:
    """What can be known without loading the network: the providers exist, the INT8 model was built. Called at
    start-up, so a wrong setting stops Vigil with its fix instead of failing when the first camera analyses."""
    if cfg.engine == "opencv":
        if cfg.precision != "fp32" or cfg.providers != ["cpu"]:
            raise ConfigError("analytics.engine: opencv runs FP32 on the CPU only; providers and precision: int8 "
                              "need engine: onnxruntime")
        return
    from vigil.analytics.onnx_detector import int8_path, ort_providers

    ort_providers(cfg.providers)
    int8_path(cfg.precision)


def make_detector(cfg: AnalyticsConfig) -> Detector:
    check_engine(cfg)
    if cfg.engine == "opencv":
        return YoloV3Tiny(confidence=cfg.confidence, size=cfg.input_width, coarse=cfg.coarse_width)
    from vigil.analytics.onnx_detector import OnnxYolo

    return OnnxYolo(confidence=cfg.confidence, size=cfg.input_width, providers=cfg.providers,
                    precision=cfg.precision, coarse=cfg.coarse_width)

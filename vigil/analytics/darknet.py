"""Darknet cfg + weights → an ONNX graph (the `onnx` package), so YOLO models shipped in Darknet's format run on
ONNX Runtime with any execution provider.

Written here because no registry package carries a maintained converter (the known ones are scripts in
repositories, tied to old ONNX opsets). It covers the layers of the YOLOv3 family: convolutional (batch norm
folded into the convolution, leaky/linear/logistic/mish activations), maxpool (Darknet's right/bottom padding),
route, shortcut, upsample and yolo. The graph has a symbolic input size (any multiple of 32) and ends at the
yolo layers' raw maps, one output per yolo layer; decoding boxes (sigmoid, anchors, grid) is done by the caller
in NumPy (`decode`), identical to OpenCV's Darknet importer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

BN_EPS = 1e-5  # Darknet's batch-norm epsilon (.000001 added to the variance in its forward pass, 1e-5 in cfgs)


@dataclass
class Section:
    kind: str
    opts: dict[str, str] = field(default_factory=dict)

    def num(self, key: str, default: int) -> int:
        return int(self.opts.get(key, default))

    def nums(self, key: str) -> list[int]:
        return [int(v) for v in self.opts[key].split(",") if v.strip()]


@dataclass(frozen=True)
class YoloHead:
    anchors: tuple[tuple[float, float], ...]  # pixels at the network's input size, this head's masked anchors
    classes: int
    stride: int
    source: str  # the node that computes this head's map (for tools that treat it apart, e.g. quantization)


def parse_cfg(text: str) -> list[Section]:
    sections: list[Section] = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        m = re.fullmatch(r"\[(\w+)\]", line)
        if m:
            sections.append(Section(m.group(1)))
        elif "=" in line and sections:
            k, v = line.split("=", 1)
            sections[-1].opts[k.strip()] = v.strip()
    if not sections or sections[0].kind not in ("net", "network"):
        raise ValueError("a Darknet cfg starts with a [net] section")
    return sections


def _weights(path: Path) -> np.ndarray:
    raw = path.read_bytes()
    major, minor = np.frombuffer(raw[:8], np.int32)
    header = 20 if major * 10 + minor >= 2 else 16  # "seen" became 64-bit in format 0.2
    return np.frombuffer(raw[header:], np.float32)


def to_onnx(cfg: str, weights_path: Path, opset: int = 17,
            model_name: str = "darknet") -> tuple[object, list[YoloHead]]:
    """The ONNX model (input "images": 1×3×H×W RGB in 0..1) and the yolo heads in output order, from a cfg's
    text and its weights file."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    sections = parse_cfg(cfg)
    net, layers = sections[0], sections[1:]
    weights = _weights(weights_path)
    pos = 0
    nodes: list[onnx.NodeProto] = []
    inits: list[onnx.TensorProto] = []
    outputs: list[str] = []  # each layer's output tensor
    channels: list[int] = []
    strides: list[int] = []
    heads: list[YoloHead] = []
    head_outputs: list[str] = []
    prev, prev_c, prev_s = "images", net.num("channels", 3), 1

    def take(n: int) -> np.ndarray:
        nonlocal pos
        if pos + n > len(weights):
            raise ValueError(f"{weights_path} is shorter than the {model_name} cfg needs: a different model's weights?")
        out = weights[pos:pos + n]
        pos += n
        return out

    for i, sec in enumerate(layers):
        name = f"l{i}_{sec.kind}"
        if sec.kind == "convolutional":
            n, size, stride = sec.num("filters", 1), sec.num("size", 1), sec.num("stride", 1)
            pad = size // 2 if sec.num("pad", 0) else sec.num("padding", 0)
            groups = sec.num("groups", 1)
            if sec.num("batch_normalize", 0):
                beta, gamma, mean, var = take(n), take(n), take(n), take(n)
            else:
                beta, gamma, mean, var = take(n), np.ones(n, np.float32), np.zeros(n, np.float32), None
            w = take(n * (prev_c // groups) * size * size).reshape(n, prev_c // groups, size, size)
            if var is not None:  # fold the batch norm into the convolution
                k = gamma / np.sqrt(var + BN_EPS)
                w, b = w * k[:, None, None, None], beta - mean * k
            else:
                b = beta
            inits += [numpy_helper.from_array(w.astype(np.float32), f"{name}_w"),
                      numpy_helper.from_array(b.astype(np.float32), f"{name}_b")]
            conv = f"{name}_conv"
            act = sec.opts.get("activation", "linear")
            nodes.append(helper.make_node("Conv", [prev, f"{name}_w", f"{name}_b"], [name if act == "linear" else conv],
                                          name=name, kernel_shape=[size, size], strides=[stride, stride],
                                          pads=[pad] * 4, group=groups))
            ops: dict[str, tuple[str, dict[str, Any]]] = {
                "leaky": ("LeakyRelu", {"alpha": 0.1}), "logistic": ("Sigmoid", {}), "mish": ("Mish", {})}
            if act in ops:
                op, attrs = ops[act]
                nodes.append(helper.make_node(op, [conv], [name], name=f"{name}_{act}", **attrs))
            elif act != "linear":
                raise ValueError(f"layer {i}: activation {act!r} is not supported")
            prev_c, prev_s = n, prev_s * stride
        elif sec.kind == "maxpool":
            size, stride = sec.num("size", 2), sec.num("stride", 2)
            padding = sec.num("padding", size - 1)
            # Darknet pads on the right and bottom (its offset is -padding // 2 = 0 for the usual padding 1).
            before, after = padding // 2, padding - padding // 2
            if stride == size and stride > 1:
                # Non-overlapping pools see only even sizes (the input is a multiple of 32), where Darknet's pad
                # is never reached; without it ONNX Runtime keeps the fast pooling kernels (11 ms → 0.2 ms on
                # the INT8 graph's first pool).
                before = after = 0
            nodes.append(helper.make_node("MaxPool", [prev], [name], name=name, kernel_shape=[size, size],
                                          strides=[stride, stride], pads=[before, before, after, after]))
            prev_s *= stride
        elif sec.kind == "upsample":
            stride = sec.num("stride", 2)
            inits.append(numpy_helper.from_array(np.array([1, 1, stride, stride], np.float32), f"{name}_scales"))
            nodes.append(helper.make_node("Resize", [prev, "", f"{name}_scales"], [name], name=name, mode="nearest"))
            prev_s //= stride
        elif sec.kind == "route":
            refs = [r if r >= 0 else i + r for r in sec.nums("layers")]
            if len(refs) == 1:
                nodes.append(helper.make_node("Identity", [outputs[refs[0]]], [name], name=name))
            else:
                nodes.append(helper.make_node("Concat", [outputs[r] for r in refs], [name], name=name, axis=1))
            prev_c, prev_s = sum(channels[r] for r in refs), strides[refs[0]]
        elif sec.kind == "shortcut":
            ref = sec.num("from", -3)
            ref = ref if ref >= 0 else i + ref
            nodes.append(helper.make_node("Add", [prev, outputs[ref]], [name], name=name))
        elif sec.kind == "yolo":
            mask = sec.nums("mask")
            a = sec.nums("anchors")
            pairs = [(float(a[2 * m]), float(a[2 * m + 1])) for m in mask]
            heads.append(YoloHead(tuple(pairs), sec.num("classes", 80), prev_s, prev))
            nodes.append(helper.make_node("Identity", [prev], [name], name=name))
            head_outputs.append(name)
        else:
            raise ValueError(f"layer {i}: Darknet layer [{sec.kind}] is not supported")
        outputs.append(name)
        channels.append(prev_c)
        strides.append(prev_s)
        prev = name
    if pos != len(weights):
        raise ValueError(f"{weights_path} has {len(weights) - pos} weights more than the {model_name} cfg uses: "
                         "a different model's weights?")
    graph = helper.make_graph(
        nodes, model_name,
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, net.num("channels", 3), "H", "W"])],
        [helper.make_tensor_value_info(o, TensorProto.FLOAT, [1, None, None, None]) for o in head_outputs], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="vigil")
    model.ir_version = 8  # readable by every ONNX Runtime this project allows
    onnx.checker.check_model(model)
    return model, heads


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-x)))


def decode(maps: Sequence[np.ndarray], heads: Sequence[YoloHead], width: int, height: int,
           class_floor: float = 0.2) -> np.ndarray:
    """Raw yolo maps → rows (cx, cy, w, h, objectness, class scores…), box fractions of the input, in the order
    and form of OpenCV's Darknet importer: cell by cell, anchor by anchor; a class score is its probability
    times the objectness, and 0 where that is not above `class_floor` (OpenCV's region layer threshold)."""
    rows = []
    for m, head in zip(maps, heads, strict=True):
        na, nc = len(head.anchors), head.classes
        _, _, gh, gw = m.shape
        t = m.reshape(na, 5 + nc, gh, gw).transpose(2, 3, 0, 1)  # gh, gw, anchor, values
        gx = np.arange(gw, dtype=np.float32)[None, :, None]
        gy = np.arange(gh, dtype=np.float32)[:, None, None]
        aw = np.array([a[0] for a in head.anchors], np.float32)[None, None, :]
        ah = np.array([a[1] for a in head.anchors], np.float32)[None, None, :]
        out = np.empty_like(t)
        out[..., 0] = (_sigmoid(t[..., 0]) + gx) / gw
        out[..., 1] = (_sigmoid(t[..., 1]) + gy) / gh
        out[..., 2] = np.exp(t[..., 2]) * aw / width
        out[..., 3] = np.exp(t[..., 3]) * ah / height
        obj = _sigmoid(t[..., 4])
        out[..., 4] = obj
        scores = _sigmoid(t[..., 5:]) * obj[..., None]
        out[..., 5:] = np.where(scores > class_floor, scores, 0.0)
        rows.append(out.reshape(-1, 5 + nc))
    return np.vstack(rows)

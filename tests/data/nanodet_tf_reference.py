"""Makes tests/data/nanodet_tf_reference.npz: NanoDet's outputs computed by TensorFlow itself from the TFJS
graph model (not by Vigil's converter), for tests/test_nanodet.py to compare Vigil's ONNX graph against.

Run once, in a separate virtualenv with TensorFlow (it is not a dependency of Vigil):
    python3 -m venv /tmp/tfvenv && /tmp/tfvenv/bin/pip install tensorflow-cpu opencv-python-headless
    /tmp/tfvenv/bin/python tests/data/nanodet_tf_reference.py .venv/share/vigil-models/nanodet/nanodet.json
Made with TensorFlow 2.21.0 on 2026-12-07. The input is darknet's person.jpg as `vigil.analytics.nanodet.blob`
makes it at 416×416; stored: for each output, the 64 cells where TensorFlow's scores are highest.
"""

import json
import sys
from pathlib import Path

import cv2
import numpy as np
import tensorflow as tf
from google.protobuf import json_format

MEAN = np.array([103.53, 116.28, 123.675], np.float32)
STD = np.array([57.375, 57.12, 58.395], np.float32)
DTYPES = {"float32": np.float32, "int32": np.int32, "float16": np.float16}


def weights(spec: dict, folder: Path) -> dict[str, np.ndarray]:
    # TFJS's weight format, read independently of vigil/analytics/tfjs.py.
    out = {}
    for group in spec["weightsManifest"]:
        raw = b"".join((folder / p).read_bytes() for p in group["paths"])
        pos = 0
        for w in group["weights"]:
            q = w.get("quantization")
            dt = np.dtype(DTYPES[q["dtype"] if q else w["dtype"]])
            n = int(np.prod(w["shape"])) if w["shape"] else 1
            out[w["name"]] = np.frombuffer(raw, dt, n, pos).reshape(w["shape"]).astype(DTYPES[w["dtype"]])
            pos += n * dt.itemsize
    return out


def main() -> None:
    path = Path(sys.argv[1])
    spec = json.loads(path.read_text())
    w = weights(spec, path.parent)
    gd = json_format.ParseDict({"node": spec["modelTopology"]["node"]}, tf.compat.v1.GraphDef())
    for n in gd.node:
        if n.op == "Const":
            arr = w[n.name]
            if n.attr["dtype"].type == tf.int64.as_datatype_enum:
                arr = arr.astype(np.int64)
            n.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(arr))
    g = tf.Graph()
    with g.as_default():
        tf.import_graph_def(gd, name="")
    img = cv2.imread("/usr/share/darknet/data/person.jpg")
    pic = cv2.resize(img, (416, 416), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    x = np.ascontiguousarray(((pic - MEAN) / STD).transpose(2, 0, 1)[None])
    (inp,) = spec["signature"]["inputs"]
    outs = {o["name"]: o for o in spec["signature"]["outputs"].values()}
    with tf.compat.v1.Session(graph=g) as s:
        res = dict(zip(outs, s.run(list(outs), {inp: x}), strict=True))
    # Score maps and distance maps, finest first (as NanoDet.maps orders them).
    scores = sorted((v for v in res.values() if v.shape[-1] == 80), key=lambda m: -m.shape[1])
    dists = sorted((v for v in res.values() if v.shape[-1] == 44), key=lambda m: -m.shape[1])
    keep = {}
    for i, (sc, di) in enumerate(zip(scores, dists, strict=True)):
        cells = np.argsort(-sc[0].max(axis=1))[:64]
        keep[f"cells{i}"], keep[f"scores{i}"], keep[f"dists{i}"] = cells, sc[0][cells], di[0][cells]
    np.savez_compressed(Path(__file__).with_suffix(".npz"), **keep)
    print({k: v.shape for k, v in keep.items()})


if __name__ == "__main__":
    main()

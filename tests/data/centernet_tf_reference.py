"""Makes tests/data/centernet_tf_reference.npz: CenterNet's outputs computed by TensorFlow itself from the TFJS
graph model (not by Vigil's converter), for tests/test_centernet.py to compare Vigil's ONNX graph and its own
peak-picking against.

Run once, in a separate virtualenv with TensorFlow (it is not a dependency of Vigil):
    python3 -m venv /tmp/tfvenv && /tmp/tfvenv/bin/pip install tensorflow-cpu opencv-python-headless
    TF_ENABLE_ONEDNN_OPTS=0 /tmp/tfvenv/bin/python tests/data/centernet_tf_reference.py \
        .venv/share/vigil-models/centernet/centernet.json
(oneDNN's kernels, TensorFlow's default on x86, differ from plain float32 arithmetic by up to 1.5e-3 in this
graph's heat; without them TensorFlow and ONNX Runtime agree within 2e-6.) Made with TensorFlow 2.21.0 on
2026-12-07. The input is darknet's person.jpg resized to the graph's own 512×512,
RGB, 0-255 (as `vigil.analytics.centernet.blob` makes it). Stored: the 64 cells where the centre heat is highest
(their heat over the 80 classes and their four distances), and the graph's own detections (its top-100 peaks:
x0, y0, x1, y1 in input pixels, heat, class).
"""

import json
import sys
from pathlib import Path

import cv2
import numpy as np
import tensorflow as tf
from google.protobuf import json_format
from nanodet_tf_reference import weights  # TFJS's weight format, read independently of vigil/analytics/tfjs.py


def unfuse(gd: "tf.compat.v1.GraphDef") -> None:
    """TFJS's fused convolutions (convolution, BiasAdd, activation in one node) back into TensorFlow's own ops:
    TensorFlow cannot import the TFJS-only FusedDepthwiseConv2dNative, nor _FusedConv2D without its TArgs."""
    out = []
    for n in gd.node:
        if n.op not in ("_FusedConv2D", "FusedDepthwiseConv2dNative"):
            out.append(n)
            continue
        fused = [f.decode() for f in n.attr["fused_ops"].list.s]
        assert fused[0] == "BiasAdd" and len(fused) <= 2, fused
        conv = tf.compat.v1.NodeDef(name=n.name + "/conv", op="Conv2D" if n.op == "_FusedConv2D"
                                    else "DepthwiseConv2dNative", input=list(n.input[:2]))
        for k in ("strides", "padding", "dilations", "data_format"):
            conv.attr[k].CopyFrom(n.attr[k])
        conv.attr["T"].type = tf.float32.as_datatype_enum
        bias = tf.compat.v1.NodeDef(name=n.name + ("/bias" if len(fused) == 2 else ""), op="BiasAdd",
                                    input=[conv.name, n.input[2]])
        bias.attr["T"].type = tf.float32.as_datatype_enum
        out += [conv, bias]
        if len(fused) == 2:
            act = tf.compat.v1.NodeDef(name=n.name, op=fused[1], input=[bias.name])
            act.attr["T"].type = tf.float32.as_datatype_enum
            out.append(act)
    del gd.node[:]
    gd.node.extend(out)


def main() -> None:
    path = Path(sys.argv[1])
    spec = json.loads(path.read_text())
    w = weights(spec, path.parent)
    gd = json_format.ParseDict({"node": spec["modelTopology"]["node"]}, tf.compat.v1.GraphDef())
    for n in gd.node:
        if n.op == "Const":
            n.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(w[n.name]))
    unfuse(gd)
    g = tf.Graph()
    with g.as_default():
        tf.import_graph_def(gd, name="")
    img = cv2.imread("/usr/share/darknet/data/person.jpg")
    pic = cv2.resize(img, (512, 512), interpolation=cv2.INTER_LINEAR)[:, :, ::-1].astype(np.float32)
    (inp,) = spec["signature"]["inputs"]
    names = ["tower_0/keypoints:0", "tower_0/wh:0", "tower_0/detections:0"]
    with tf.compat.v1.Session(graph=g) as s:
        heat, dist, dets = s.run(names, {inp + ":0": pic[None]})
    heat, dist = heat[0].reshape(-1, heat.shape[-1]), dist[0].reshape(-1, 4)
    cells = np.argsort(-heat.max(axis=1))[:64]
    np.savez_compressed(Path(__file__).with_suffix(".npz"), cells=cells, heat=heat[cells], dist=dist[cells],
                        detections=dets[0], width=np.int64(128))
    print(cells.shape, dets.shape, dets[0][:5])


if __name__ == "__main__":
    main()

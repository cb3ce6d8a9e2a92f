"""schemathesis hooks for tests/test_bad_input.py: the hostile values an outside probe found 500s with, added to
the published schema as examples, so the fuzzer's `examples` phase sends them on every run (the generated phases
rarely draw a lone surrogate or the smallest 64-bit integer)."""

from __future__ import annotations

from typing import Any

import schemathesis

SURROGATE = "\ud800"  # valid JSON ("\\ud800"), not valid Unicode
SMALLEST_INT64 = "-9223372036854775808"
BEYOND_INT64 = "9223372036854775808"


def _example(target: dict[str, Any], **values: Any) -> None:
    target.setdefault("examples", {}).update({name: {"value": v} for name, v in values.items()})


@schemathesis.hook
def before_load_schema(ctx: Any, raw_schema: dict[str, Any]) -> None:
    paths = raw_schema.get("paths", {})
    login = paths.get("/api/auth/login", {}).get("post", {})
    body = login.get("requestBody", {}).get("content", {}).get("application/json")
    if body is not None:
        _example(body, surrogate_name={"username": SURROGATE, "password": "x"},
                 surrogate_password={"username": "admin", "password": SURROGATE})
    fragment = paths.get("/api/segments/{seg_id}/fragments/{index}.m4s", {}).get("get", {})
    for param in fragment.get("parameters", []):
        if param.get("name") == "origin":
            _example(param, smallest=SMALLEST_INT64)
        elif param.get("name") == "seg_id":
            _example(param, beyond=BEYOND_INT64)

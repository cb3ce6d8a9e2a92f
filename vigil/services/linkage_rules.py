"""Alarm linkage rules: those of vigil.yml (read-only here) and those made in the UI or over the API (kept in the
catalog, so every node of a cluster and every restart sees them). A rule from the UI is validated exactly as the
config file's rules are — the same messages — plus what only the running system knows (its cameras)."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import ValidationError

from vigil.catalog.store import Catalog
from vigil.config import AlarmsConfig, Config, LinkageRule, format_validation_error
from vigil.errors import ConfigError, NotFoundError
from vigil.log import get_logger

log = get_logger(__name__)
SETTING = "linkage_rules"
MAX_RULES = 100
_PREFIX = "alarms.linkage[0]."


@dataclass(frozen=True)
class StoredRule:
    id: str
    source: Literal["config", "ui"]
    rule: LinkageRule


class LinkageRules:
    def __init__(self, cfg: AlarmsConfig, catalog: Catalog, cameras: Callable[[], Iterable[str]]) -> None:
        self.cfg, self.catalog, self.cameras = cfg, catalog, cameras
        self._lock = threading.Lock()  # one change at a time: each is read-modify-write of one setting

    def all(self) -> list[StoredRule]:
        """The config file's rules first (ids config-0, config-1, …), then the UI's in the order made."""
        out = [StoredRule(f"config-{i}", "config", r) for i, r in enumerate(self.cfg.linkage)]
        for row in self._stored():
            try:
                out.append(StoredRule(str(row["id"]), "ui", LinkageRule.model_validate(row["rule"])))
            except (KeyError, ValidationError) as err:  # saved by an older version: skipped, said in the log
                log.error("linkage_rule_invalid", rule=row.get("id"), error=str(err))
        return out

    def rules(self) -> list[LinkageRule]:
        return [s.rule for s in self.all()]

    def check(self, body: dict[str, Any]) -> LinkageRule:
        """The rule, or ConfigError saying what is wrong and how to put it right."""
        if not isinstance(body, dict):
            raise ConfigError("a linkage rule is a JSON object (name, types, cameras, actions …)")
        alarms = self.cfg.model_dump(exclude={"linkage"})
        try:
            parsed = Config.model_validate({"alarms": {**alarms, "linkage": [body]}})
        except ValidationError as err:
            text = format_validation_error(err, "linkage rule").replace(_PREFIX, "")
            raise ConfigError(text.replace("alarms.linkage[0]: ", "")) from None
        rule = parsed.alarms.linkage[0]
        known = set(self.cameras())
        named = {*rule.cameras, *(c for c in rule.record if c != "self"),
                 *(p.camera for p in rule.ptz_preset if p.camera != "self")}
        unknown = sorted(named - known)
        if unknown:
            raise ConfigError(f"linkage rule: no camera {', '.join(map(repr, unknown))}; cameras here: "
                              f"{', '.join(sorted(known)) or 'none'}")
        for w in rule.schedule:
            start, end = w.minutes()
            if end <= start:
                raise ConfigError(f"linkage rule: schedule {w.start}-{w.end}: the end must come after the start "
                                  "(split a night into two windows: 22:00-24:00 and 00:00-06:00)")
        return rule

    def add(self, body: dict[str, Any]) -> StoredRule:
        rule = self.check(body)
        with self._lock:
            rows = self._stored()
            if len(rows) >= MAX_RULES:
                raise ConfigError(f"at most {MAX_RULES} linkage rules can be made here: remove one first")
            stored = StoredRule(secrets.token_hex(4), "ui", rule)
            self._save([*rows, self._row(stored)])
        return stored

    def replace(self, rule_id: str, body: dict[str, Any]) -> StoredRule:
        self._editable(rule_id)
        rule = self.check(body)
        with self._lock:
            rows = self._stored()
            at = self._index(rows, rule_id)
            stored = StoredRule(rule_id, "ui", rule)
            rows[at] = self._row(stored)
            self._save(rows)
        return stored

    def delete(self, rule_id: str) -> None:
        self._editable(rule_id)
        with self._lock:
            rows = self._stored()
            del rows[self._index(rows, rule_id)]
            self._save(rows)

    def _editable(self, rule_id: str) -> None:
        if rule_id.startswith("config-") and any(s.id == rule_id for s in self.all()):
            i = int(rule_id.removeprefix("config-"))
            raise ConfigError(f"linkage rule {rule_id} is alarms.linkage[{i}] in vigil.yml: change it there "
                              "(and restart Vigil)")

    @staticmethod
    def _index(rows: list[dict[str, Any]], rule_id: str) -> int:
        for i, row in enumerate(rows):
            if row.get("id") == rule_id:
                return i
        raise NotFoundError(f"no linkage rule {rule_id!r}; GET /api/alarms/linkage lists them")

    @staticmethod
    def _row(s: StoredRule) -> dict[str, Any]:
        return {"id": s.id, "rule": s.rule.model_dump(mode="json")}

    def _stored(self) -> list[dict[str, Any]]:
        rows = self.catalog.get_setting(SETTING, [])
        return [r for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []

    def _save(self, rows: list[dict[str, Any]]) -> None:
        self.catalog.set_setting(SETTING, rows)

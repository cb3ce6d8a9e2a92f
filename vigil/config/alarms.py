"""`alarms:`: e-mail, MQTT and the linkage rules."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from vigil.config.base import _Strict
from vigil.schedule import Window


class SmtpSettings(_Strict):
    host: str
    port: int = Field(default=587, ge=1, le=65535)
    tls: Literal["starttls", "ssl", "none"] = "starttls"
    username: str = ""
    password: str = ""
    sender: str = "vigil@localhost"
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    ca_file: str | None = Field(default=None, description="PEM certificates to trust for the server (an internal "
                                "CA or a self-signed server); default: the system's")


class MqttSettings(_Strict):
    host: str
    port: int = Field(default=1883, ge=1, le=65535)
    username: str = ""
    password: str = ""
    topic_prefix: str = "vigil"  # events go to <prefix>/<camera>/<type>
    discovery: bool = True  # Home Assistant MQTT discovery: each camera's alarms appear as binary sensors
    discovery_prefix: str = "homeassistant"


class PtzPresetAction(_Strict):
    camera: str = Field(description="a PTZ camera with ONVIF settings; 'self' is the event's camera")
    preset: str = Field(min_length=1, description="the preset's name or token")


class LinkageRule(_Strict):
    """What to do when an event of these types happens on these cameras, while armed and in the schedule."""

    name: str = ""
    types: list[str] = Field(default_factory=lambda: ["*"], description="event types; * for all")
    cameras: list[str] = Field(default_factory=list, description="camera ids; empty: all (and events of none)")
    min_severity: Literal["info", "warning", "alarm", "critical"] = "info"
    schedule: list[Window] = Field(default_factory=list, description="armed periods; empty: always")
    min_interval_seconds: float = Field(default=60.0, ge=0, le=86400)  # debounce per camera and type
    email: list[str] = Field(default_factory=list, description="recipients (needs alarms.smtp)")
    webhook: str | None = Field(default=None, description="URL that receives the event as JSON (POST)")
    mqtt: bool = False  # publish on alarms.mqtt
    buzzer: bool = False  # a sound on the server (a logged warning where there is no audio device)
    record: list[str] = Field(default_factory=list, description="cameras to record around the event (in 'alarm' "
                              "record mode: pre_seconds before, post_seconds after); 'self' is the event's camera")
    ptz_preset: list[PtzPresetAction] = Field(default_factory=list, description="turn PTZ cameras to a preset")

    @field_validator("webhook")
    @classmethod
    def _check_webhook(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith(("http://", "https://")):
            raise ValueError(f"webhook {v!r} must be an http:// or https:// URL")
        return v


class AlarmsConfig(_Strict):
    smtp: SmtpSettings | None = None
    mqtt: MqttSettings | None = None
    linkage: list[LinkageRule] = Field(default_factory=list)
    webhook_attempts: int = Field(default=5, ge=1, le=20)  # a webhook is retried (1, 2, 4 … s apart) this often

    @model_validator(mode="after")
    def _needs(self) -> AlarmsConfig:
        for i, r in enumerate(self.linkage):
            if r.email and self.smtp is None:
                raise ValueError(f"linkage[{i}] sends e-mail: configure alarms.smtp (host, port, tls, sender)")
            if r.mqtt and self.mqtt is None:
                raise ValueError(f"linkage[{i}] publishes on MQTT: configure alarms.mqtt (host, port)")
        return self

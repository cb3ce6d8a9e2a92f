"""`vigil.yml`: pydantic models, one module per section. Every validation error names the key and the fix."""

from vigil.config.alarms import AlarmsConfig, LinkageRule, MqttSettings, PtzPresetAction, SmtpSettings
from vigil.config.analytics import AnalyticsConfig, FacesConfig, Provider
from vigil.config.base import CAMERA_ID, check_host, check_listen, check_stream_url, redact_url
from vigil.config.cameras import AudioAlarm, CameraAnalytics, CameraConfig, OnvifSettings, RecordSettings
from vigil.config.network import (
    ApiConfig,
    ClusterConfig,
    LiveConfig,
    RtspOutConfig,
    SourceSettings,
    TlsSettings,
    TranscodeSettings,
)
from vigil.config.root import Config, format_validation_error, load_config, parse_config
from vigil.config.storage import CatalogConfig, ExportsConfig, S3Settings, StorageConfig

__all__ = [
    "CAMERA_ID",
    "AlarmsConfig",
    "AnalyticsConfig",
    "ApiConfig",
    "AudioAlarm",
    "CameraAnalytics",
    "CameraConfig",
    "CatalogConfig",
    "ClusterConfig",
    "Config",
    "ExportsConfig",
    "FacesConfig",
    "LinkageRule",
    "LiveConfig",
    "MqttSettings",
    "OnvifSettings",
    "Provider",
    "PtzPresetAction",
    "RecordSettings",
    "RtspOutConfig",
    "S3Settings",
    "SmtpSettings",
    "SourceSettings",
    "StorageConfig",
    "TlsSettings",
    "TranscodeSettings",
    "check_host",
    "check_listen",
    "check_stream_url",
    "format_validation_error",
    "load_config",
    "parse_config",
    "redact_url",
]

"""Exception types. Every message says what is wrong and how to fix it."""


class VigilError(Exception):
    """Base of all errors Vigil reports to a user."""


class ConfigError(VigilError):
    """The configuration file or environment is wrong."""


class StorageError(VigilError):
    """The storage path is missing, not writable, or a write failed."""


class SourceError(VigilError):
    """A camera stream could not be opened or read."""


class SegmentError(VigilError):
    """A segment file is unreadable or holds no complete fragment."""


class NotFoundError(VigilError):
    """A requested object (camera, segment) does not exist."""


class FaceImageError(VigilError):
    """An image offered for enrolment or search has no usable face, or more than one."""


class OnvifError(VigilError):
    """An ONVIF camera could not be reached, refused the credentials, or answered with a fault."""


class OnvifAuthError(OnvifError):
    """The camera refused the ONVIF user name or password."""

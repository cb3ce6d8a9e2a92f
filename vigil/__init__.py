"""Vigil: an open-source AI network video recorder."""

__version__ = "0.1.0"

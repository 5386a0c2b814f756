"""pytest-ctirealm: detection-engineering benchmark and Sigma rule validation for pytest."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("pytest-ctirealm")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

"""The ``hotspots`` command line: thin shells that parse flags, call the library and print."""

from hotspots.cli.main import app, main

__all__ = ["app", "main"]

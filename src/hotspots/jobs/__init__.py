"""Jobs: the library calls behind ``hotspots train``, ``backtest`` and ``forecast``.

They tie the layers together (ingest -> panel -> forecasters -> evaluation -> registry) so
the CLI and the service stay thin shells over the same calls.
"""

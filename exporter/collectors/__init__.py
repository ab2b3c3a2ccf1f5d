"""What every collector shares (``base``), and the key-health collector (``health``).

The collectors of polled data live with their areas (``exporter.areas``); the registries that
gather them are built in ``exporter.metrics``.
"""

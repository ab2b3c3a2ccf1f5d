"""The exposition: metric families as the areas declare them (``family.py``), each project's
lines kept in the store (``store.py``), bodies in four formats (``serve.py``), and the
exporter's own live metrics (``own.py``, ``health.py``)."""

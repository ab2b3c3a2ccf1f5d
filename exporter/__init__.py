"""neon-exporter: a Prometheus exporter for the Neon serverless-Postgres control plane."""

__version__ = "0.1.0"

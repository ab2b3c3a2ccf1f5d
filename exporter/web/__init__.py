"""The HTTP side: handlers, the TLS and basic-auth guard, the landing page, the demo's routes."""

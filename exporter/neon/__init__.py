"""Talking to Neon: the client, pure parsers of its answers, and the frozen models they make."""

"""The error every configuration problem raises, shared by config.py and webconfig."""

from __future__ import annotations


class ConfigError(Exception):
    """A setting is missing or invalid; ``str()`` is one line that names the setting as the user
    wrote it: the flag (``--poll.interval``), the variable (``NEON_API_URL``) or the YAML field and
    file (``poll_interval in /etc/neon-exporter.yml``)."""

    def __init__(self, setting: str, problem: str) -> None:
        super().__init__(f"{setting}: {problem}")
        self.setting = setting
        self.problem = problem

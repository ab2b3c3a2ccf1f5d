"""What `neon-exporter --help` says after the flags: where the keys come from (the variables,
the config file) and what each command's exit status means, so --help alone is enough to start.
"""

from __future__ import annotations

# What each command's exit status means (docs/configuration.md's table says the same; a test
# keeps them equal). Shown by --help.
EXIT_STATUS: dict[str, tuple[str, str, str]] = {
    "serve": ("stopped by SIGTERM or SIGINT", "cannot listen on the address", "bad configuration"),
    "check": ("every key valid", "a key rejected or unreachable", "bad configuration"),
    "once": (
        "every key polled",
        "a poll failed: the exposition is still printed",
        "bad configuration",
    ),
}

_EPILOG = """\
API keys (never on the command line, and never written in the config file):
  NEON_API_KEY        one key, named "default"; fine for a try-out in your own shell
  NEON_API_KEY_FILE   a file holding one key, named "default" (chmod 600); for a service
  --config.file FILE  (env NEON_EXPORTER_CONFIG) YAML with the settings above, and keys:
                      for several keys, each named, with key_env or key_file
  NEON_API_URL        the Neon API (--neon.api-url), default https://console.neon.tech/api/v2
With none of them, serve runs the built-in demo: a simulated Neon API.

exit status:
{exit_status}

Every setting, with its YAML field: docs/configuration.md.
"""


def epilog() -> str:
    """What --help says after the flags."""
    rows = [
        f"  {command:<6} " + "; ".join(f"{code} {meaning}" for code, meaning in enumerate(codes))
        for command, codes in EXIT_STATUS.items()
    ]
    return _EPILOG.format(exit_status="\n".join(rows))


__all__ = ["EXIT_STATUS", "epilog"]

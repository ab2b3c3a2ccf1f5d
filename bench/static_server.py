"""The baseline: one aiohttp handler serving fixed bytes, in its own process.

python bench/static_server.py PORT BODY_FILE CONTENT_TYPE [gzip]
"""

from __future__ import annotations

import sys
from pathlib import Path

from aiohttp import web


def main() -> None:
    port, body_file, content_type = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    body = Path(body_file).read_bytes()
    headers = {"Content-Type": content_type}
    if len(sys.argv) > 4 and sys.argv[4] == "gzip":
        headers["Content-Encoding"] = "gzip"

    async def handler(_: web.Request) -> web.Response:
        return web.Response(body=body, headers=headers)

    app = web.Application()
    app.router.add_get("/metrics", handler)
    app.router.add_get("/healthz", lambda _: handler(_))
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


if __name__ == "__main__":
    main()

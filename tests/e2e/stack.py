"""Real Prometheus, Alertmanager and a webhook receiver for end-to-end tests.

Prometheus and Alertmanager are the Debian binaries, each on a free loopback port with its
storage in the test's temporary directory, started and stopped by PID through
:func:`tests.procs.process`. A missing binary fails the test (never a skip): ``make system-deps``
installs them. The webhook receiver is an HTTP server on a thread of the test process that
records every JSON body POSTed to it, the way a Slack or PagerDuty endpoint would receive it.

    with prometheus(tmp, prometheus_config(job="neon-exporter", targets=[...])) as prom:
        prom.wait_for_target_up("neon-exporter")
        prom.query('neon_api_key_valid{key="prod"}')
"""

from __future__ import annotations

import json
import shutil
import threading
import time
import urllib.error
import urllib.parse
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

from tests.procs import Proc, free_port, http_get, process, wait_for

PROMETHEUS_BINARY = "prometheus"
ALERTMANAGER_BINARY = "prometheus-alertmanager"  # Debian's name for alertmanager


def binary(name: str) -> str:
    """The path of a required binary; fails (does not skip) when it is missing."""
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(f"{name} is not installed: run `make system-deps`")
    return path


def _get_json(url: str) -> Any:
    return json.loads(http_get(url))


def _wait_ready(proc: Proc, url: str, *, timeout: float) -> None:
    """Poll ``url`` until it answers 200; a process that exits meanwhile fails at once."""

    def ready() -> bool:
        if proc.popen.poll() is not None:
            raise RuntimeError(f"process exited {proc.popen.returncode}:\n{proc.output()}")
        try:
            http_get(url, timeout=1)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False
        return True

    wait_for(ready, timeout=timeout, interval=0.1, what=url)


# --- Prometheus -------------------------------------------------------------------------------


def prometheus_config(
    *,
    job: str,
    targets: Sequence[str],
    interval: str = "1s",
    rule_files: Sequence[Path] = (),
    alertmanagers: Sequence[str] = (),
) -> dict[str, Any]:
    """A minimal Prometheus config: one scrape job, optional rules and Alertmanagers."""
    config: dict[str, Any] = {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "scrape_configs": [
            {
                "job_name": job,
                "scrape_interval": interval,
                "scrape_timeout": interval,
                "static_configs": [{"targets": list(targets)}],
            }
        ],
    }
    if rule_files:
        config["rule_files"] = [str(p.resolve()) for p in rule_files]
    if alertmanagers:
        config["alerting"] = {
            "alertmanagers": [{"static_configs": [{"targets": [*alertmanagers]}]}]
        }
    return config


@dataclass
class Prometheus:
    proc: Proc
    url: str  # http://127.0.0.1:PORT

    def api(self, path: str, **params: str) -> Any:
        """GET /api/v1/PATH; returns ``data``, raises on an error status."""
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        body = _get_json(f"{self.url}/api/v1/{path}{query}")
        if body.get("status") != "success":
            raise RuntimeError(f"Prometheus API error for {path}: {body}")
        return body["data"]

    def query(self, expr: str, *, at: float | None = None) -> list[dict[str, Any]]:
        """An instant query; the ``result`` list (vector or matrix)."""
        params = {"query": expr} if at is None else {"query": expr, "time": str(at)}
        data = self.api("query", **params)
        result = data["result"]
        assert isinstance(result, list), data
        return result

    def samples(self, selector: str, *, window: str) -> list[tuple[float, float]]:
        """The raw (timestamp, value) samples of the one series ``selector`` over ``window``."""
        result = self.query(f"{selector}[{window}]")
        if not result:
            return []
        if len(result) != 1:
            raise AssertionError(f"{selector} matched {len(result)} series: {result}")
        return [(float(t), float(v)) for t, v in result[0]["values"]]

    def alerts(self) -> list[dict[str, Any]]:
        """Active (pending or firing) alerts, as /api/v1/alerts lists them."""
        alerts = self.api("alerts")["alerts"]
        assert isinstance(alerts, list)
        return alerts

    def wait_for_target_up(self, job: str, *, timeout: float = 20) -> None:
        """Wait until every target of ``job`` has been scraped successfully (about 5s+)."""

        def up() -> bool:
            result = self.query(f'up{{job="{job}"}}')
            return bool(result) and all(r["value"][1] == "1" for r in result)

        wait_for(up, timeout=timeout, interval=0.25, what=f"target {job} up in Prometheus")


@contextmanager
def prometheus(
    tmp: Path, config: Mapping[str, Any], *, name: str = "prometheus"
) -> Iterator[Prometheus]:
    """Prometheus with ``config`` on a free loopback port, TSDB under ``tmp/NAME-data``."""
    args = [f"--storage.tsdb.path={tmp / f'{name}-data'}", "--log.level=info"]
    with _serve(tmp, name, PROMETHEUS_BINARY, config, args) as (proc, url):
        yield Prometheus(proc, url)


@contextmanager
def _serve(
    tmp: Path, name: str, program: str, config: Mapping[str, Any], args: Sequence[str]
) -> Iterator[tuple[Proc, str]]:
    """``program --config.file=... ARGS`` on a free loopback port, until ``/-/ready``."""
    port = free_port()
    config_path = tmp / f"{name}.yml"
    config_path.write_text(yaml.safe_dump(dict(config), sort_keys=False))
    argv = [
        binary(program),
        f"--config.file={config_path}",
        f"--web.listen-address=127.0.0.1:{port}",
        *args,
    ]
    with process(argv, tmp / f"{name}.log") as proc:
        url = f"http://127.0.0.1:{port}"
        _wait_ready(proc, f"{url}/-/ready", timeout=30)
        yield proc, url


# --- Alertmanager -----------------------------------------------------------------------------


@dataclass
class Alertmanager:
    proc: Proc
    url: str  # http://127.0.0.1:PORT

    @property
    def address(self) -> str:
        """host:port, as a Prometheus ``alerting`` target."""
        return self.url.removeprefix("http://")

    def alerts(self) -> list[dict[str, Any]]:
        """Alerts Alertmanager holds (/api/v2/alerts): active, silenced and inhibited."""
        alerts = _get_json(f"{self.url}/api/v2/alerts")
        assert isinstance(alerts, list)
        return alerts


def point_webhooks_at(config: Mapping[str, Any], base_url: str) -> dict[str, Any]:
    """A copy of an Alertmanager config whose webhook URLs go to ``base_url`` (path kept)."""
    copy: dict[str, Any] = json.loads(json.dumps(config))
    base = urllib.parse.urlsplit(base_url)
    for receiver in copy.get("receivers", []):
        for hook in receiver.get("webhook_configs", []):
            url = urllib.parse.urlsplit(hook["url"])
            hook["url"] = urllib.parse.urlunsplit(
                url._replace(scheme=base.scheme, netloc=base.netloc)
            )
    return copy


@contextmanager
def alertmanager(
    tmp: Path, config: Mapping[str, Any], *, name: str = "alertmanager"
) -> Iterator[Alertmanager]:
    """Alertmanager with ``config`` on a free loopback port, clustering off, storage in ``tmp``."""
    args = [
        f"--storage.path={tmp / f'{name}-data'}",
        "--cluster.listen-address=",  # no gossip port: a single instance
        "--log.level=debug",  # the log then shows each flush, useful when a drill fails
    ]
    with _serve(tmp, name, ALERTMANAGER_BINARY, config, args) as (proc, url):
        yield Alertmanager(proc, url)


# --- Webhook receiver -------------------------------------------------------------------------


@dataclass(frozen=True)
class Notification:
    """One webhook POST from Alertmanager."""

    received_at: float  # time.time() on arrival
    path: str
    body: dict[str, Any]

    @property
    def status(self) -> str:
        """``firing`` or ``resolved`` (the group's status)."""
        return str(self.body.get("status"))

    @property
    def receiver(self) -> str:
        return str(self.body.get("receiver"))

    @property
    def alerts(self) -> list[dict[str, Any]]:
        alerts = self.body.get("alerts", [])
        assert isinstance(alerts, list)
        return alerts

    def has(self, alertname: str, *, status: str, **labels: str) -> bool:
        """True if it carries alert ``alertname`` in ``status`` with all of ``labels``."""
        return any(
            a.get("status") == status
            and a["labels"].get("alertname") == alertname
            and all(a["labels"].get(k) == v for k, v in labels.items())
            for a in self.alerts
        )


@dataclass
class WebhookReceiver:
    url: str  # http://127.0.0.1:PORT
    _received: list[Notification] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, notification: Notification) -> None:
        with self._lock:
            self._received.append(notification)

    @property
    def notifications(self) -> list[Notification]:
        with self._lock:
            return list(self._received)

    def wait_for(
        self, match: Callable[[Notification], bool], *, timeout: float, what: str = ""
    ) -> Notification:
        """The first notification (received so far or later) that ``match`` accepts."""
        found: list[Notification] = []

        def check() -> bool:
            found.extend(n for n in self.notifications if match(n))
            return bool(found)

        wait_for(check, timeout=timeout, interval=0.05, what=what or "a webhook notification")
        return found[0]


@contextmanager
def webhook_receiver() -> Iterator[WebhookReceiver]:
    """An HTTP server on a free loopback port recording each JSON body POSTed to any path."""

    receiver: WebhookReceiver | None = None

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            arrived = time.time()
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length) or b"{}")
            assert receiver is not None
            receiver.record(Notification(arrived, self.path, body))
            self.send_response(HTTPStatus.OK)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the notifications themselves are the record."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver = WebhookReceiver(f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, name="webhook-receiver", daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

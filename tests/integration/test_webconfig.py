"""--web.config.file over real sockets: TLS, client certificates, basic auth and headers."""

from __future__ import annotations

import base64
import datetime
import http.client
import ipaddress
import signal
import ssl
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import bcrypt
import pytest
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from exporter.config.errors import ConfigError
from exporter.web.config import BasicAuth, WebConfig, load_web_config
from tests.procs import Exporter, exporter, simulator, wait_for
from tests.support import KEYS

PASSWORD = "correct horse battery staple"
# Cost 4 (bcrypt's minimum) keeps the tests fast; the code path is the same at any cost.
HASH = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4)).decode()


# -- certificates made for the test -------------------------------------------------------------


@dataclass
class Pki:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    stranger_cert: Path  # a client certificate from another CA
    stranger_key: Path


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _cert(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[str, ec.EllipticCurvePrivateKey] | None,
    *,
    ca: bool = False,
    server: bool = False,
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    issuer_name, issuer_key = issuer if issuer else (subject, key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        ).add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    else:
        usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
    return builder.sign(issuer_key, hashes.SHA256())


def _write(path: Path, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> Path:
    path.with_suffix(".key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    d = tmp_path_factory.mktemp("pki")
    ca_key, other_ca_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(2))
    server_key, client_key, stranger_key = (
        ec.generate_private_key(ec.SECP256R1()) for _ in range(3)
    )
    ca = _write(d / "ca.pem", _cert("test CA", ca_key, None, ca=True), ca_key)
    server = _cert("localhost", server_key, ("test CA", ca_key), server=True)
    client = _cert("prometheus", client_key, ("test CA", ca_key))
    stranger = _cert("stranger", stranger_key, ("other CA", other_ca_key))
    return Pki(
        ca=ca,
        server_cert=_write(d / "server.pem", server, server_key),
        server_key=d / "server.key",
        client_cert=_write(d / "client.pem", client, client_key),
        client_key=d / "client.key",
        stranger_cert=_write(d / "stranger.pem", stranger, stranger_key),
        stranger_key=d / "stranger.key",
    )


# -- a tiny app served with the web config ------------------------------------------------------


async def _hello(_: web.Request) -> web.Response:
    return web.Response(text="hello\n")


Serve = Callable[[WebConfig], Awaitable[str]]


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    runners: list[web.AppRunner] = []

    async def start(config: WebConfig) -> str:
        app = web.Application(middlewares=[config.middleware()])
        app.router.add_get("/metrics", _hello)
        app.router.add_get("/healthz", _hello)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        runners.append(runner)
        ctx = config.ssl_context()
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ctx)
        await site.start()
        port = runner.addresses[0][1]
        return f"{'https' if ctx else 'http'}://127.0.0.1:{port}"

    yield start
    for runner in runners:
        await runner.cleanup()


def client_ctx(
    pki: Pki, *, cert: tuple[Path, Path] | None = None, max_version: ssl.TLSVersion | None = None
) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(pki.ca))
    if cert:
        ctx.load_cert_chain(str(cert[0]), str(cert[1]))
    if max_version:
        ctx.maximum_version = max_version
    return ctx


async def get(
    url: str,
    *,
    ssl_ctx: ssl.SSLContext | None = None,
    auth: str | None = None,
) -> tuple[int, dict[str, str], str]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            url,
            ssl=ssl_ctx if ssl_ctx else True,
            headers={"Authorization": auth} if auth else None,
        ) as resp,
    ):
        return resp.status, dict(resp.headers), await resp.text()


def basic(user: str, password: str) -> str:
    """An Authorization header value (aiohttp.BasicAuth is deprecated in 3.14)."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def write_config(tmp_path: Path, text: str) -> str:
    path = tmp_path / "web.yml"
    path.write_text(text)
    return str(path)


def tls_block(pki: Pki, extra: str = "") -> str:
    return (
        f"tls_server_config:\n  cert_file: {pki.server_cert}\n  key_file: {pki.server_key}\n"
        + extra
    )


# -- tests --------------------------------------------------------------------------------------


async def test_tls_serves_https_to_a_client_trusting_the_ca(
    pki: Pki, serve: Serve, tmp_path: Path
) -> None:
    """A cert_file/key_file pair serves HTTPS that a verifying client accepts."""
    url = await serve(load_web_config(write_config(tmp_path, tls_block(pki))))
    assert url.startswith("https://")
    status, _, body = await get(f"{url}/metrics", ssl_ctx=client_ctx(pki))
    assert (status, body) == (200, "hello\n")


async def test_basic_auth_wrong_missing_and_correct_password(
    pki: Pki, serve: Serve, tmp_path: Path
) -> None:
    """No credentials, a wrong password or an unknown user get 401 with a challenge; the right
    password gets 200, over TLS."""
    text = tls_block(pki) + f"basic_auth_users:\n  prometheus: {HASH}\n"
    url = await serve(load_web_config(write_config(tmp_path, text)))
    ctx = client_ctx(pki)
    for auth in (
        None,
        basic("prometheus", "wrong"),
        basic("nobody", PASSWORD),
        basic("prometheus", "x" * 100),
    ):
        status, headers, _ = await get(f"{url}/metrics", ssl_ctx=ctx, auth=auth)
        assert status == 401, auth
        assert headers["WWW-Authenticate"] == 'Basic realm="neon-exporter"'
    for _ in range(3):  # the second and third answers come from the cache
        status, _, body = await get(
            f"{url}/metrics", ssl_ctx=ctx, auth=basic("prometheus", PASSWORD)
        )
        assert (status, body) == (200, "hello\n")


async def test_basic_auth_protects_healthz_unless_excluded(serve: Serve, tmp_path: Path) -> None:
    """Like exporter-toolkit every path is protected; auth_excluded_paths opens exact paths."""
    closed = load_web_config(write_config(tmp_path, f"basic_auth_users:\n  u: {HASH}\n"))
    url = await serve(closed)
    assert (await get(f"{url}/healthz"))[0] == 401
    opened = load_web_config(
        write_config(tmp_path, f"basic_auth_users:\n  u: {HASH}\nauth_excluded_paths: [/healthz]\n")
    )
    url = await serve(opened)
    assert (await get(f"{url}/healthz"))[0] == 200
    assert (await get(f"{url}/metrics"))[0] == 401


async def test_successful_checks_are_cached_and_failures_are_not(
    serve: Serve, tmp_path: Path
) -> None:
    """A correct password is remembered; wrong passwords and unknown users are not."""
    config = load_web_config(write_config(tmp_path, f"basic_auth_users:\n  u: {HASH}\n"))
    auth = BasicAuth(config.users)
    header = basic("u", "wrong")
    assert not await auth.check(header)
    assert not await auth.check(basic("ghost", PASSWORD))
    assert len(auth._ok) == 0  # what the guard remembers: no failure
    assert await auth.check(basic("u", PASSWORD))
    assert await auth.check(basic("u", PASSWORD))
    assert len(auth._ok) == 1


async def test_extra_headers_on_every_answer(serve: Serve, tmp_path: Path) -> None:
    """http_server_config.headers are added to 200, 401 and 404 answers alike."""
    text = (
        f"basic_auth_users:\n  u: {HASH}\n"
        "http_server_config:\n  http2: false\n  headers:\n"
        "    X-Frame-Options: deny\n    Strict-Transport-Security: max-age=31536000\n"
    )
    url = await serve(load_web_config(write_config(tmp_path, text)))
    good = basic("u", PASSWORD)
    for path, auth, expected in (
        ("/metrics", good, 200),
        ("/metrics", None, 401),
        ("/nowhere", good, 404),
    ):
        status, headers, _ = await get(url + path, auth=auth)
        assert status == expected
        assert headers["X-Frame-Options"] == "deny"
        assert headers["Strict-Transport-Security"] == "max-age=31536000"


async def test_mtls_requires_a_certificate_from_the_client_ca(
    pki: Pki, serve: Serve, tmp_path: Path
) -> None:
    """RequireAndVerifyClientCert: no client certificate or one from another CA fails the TLS
    handshake; one signed by client_ca_file gets in."""
    extra = f"  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: {pki.ca}\n"
    url = await serve(load_web_config(write_config(tmp_path, tls_block(pki, extra))))
    with pytest.raises(aiohttp.ClientError):
        await get(f"{url}/metrics", ssl_ctx=client_ctx(pki))
    with pytest.raises(aiohttp.ClientError):
        await get(
            f"{url}/metrics", ssl_ctx=client_ctx(pki, cert=(pki.stranger_cert, pki.stranger_key))
        )
    status, _, _ = await get(
        f"{url}/metrics", ssl_ctx=client_ctx(pki, cert=(pki.client_cert, pki.client_key))
    )
    assert status == 200


async def test_verify_client_cert_if_given(pki: Pki, serve: Serve, tmp_path: Path) -> None:
    """VerifyClientCertIfGiven lets a client without a certificate in, but not a bad one."""
    extra = f"  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: {pki.ca}\n"
    url = await serve(load_web_config(write_config(tmp_path, tls_block(pki, extra))))
    assert (await get(f"{url}/metrics", ssl_ctx=client_ctx(pki)))[0] == 200
    with pytest.raises(aiohttp.ClientError):
        await get(
            f"{url}/metrics", ssl_ctx=client_ctx(pki, cert=(pki.stranger_cert, pki.stranger_key))
        )


async def test_min_version_is_honoured(pki: Pki, serve: Serve, tmp_path: Path) -> None:
    """min_version TLS13 refuses a client limited to TLS 1.2 and serves a TLS 1.3 client."""
    url = await serve(
        load_web_config(write_config(tmp_path, tls_block(pki, "  min_version: TLS13\n")))
    )
    with pytest.raises(aiohttp.ClientError):
        await get(f"{url}/metrics", ssl_ctx=client_ctx(pki, max_version=ssl.TLSVersion.TLSv1_2))
    assert (await get(f"{url}/metrics", ssl_ctx=client_ctx(pki)))[0] == 200


async def test_default_min_version_refuses_tls11(pki: Pki, serve: Serve, tmp_path: Path) -> None:
    """Without min_version the floor is TLS 1.2, as in exporter-toolkit."""
    config = load_web_config(write_config(tmp_path, tls_block(pki)))
    ctx = config.ssl_context()
    assert ctx is not None
    assert ctx.minimum_version == ssl.TLSVersion.TLSv1_2


def test_relative_paths_are_relative_to_the_config_file(pki: Pki) -> None:
    """cert_file and key_file relative to the web config file's directory, as exporter-toolkit."""
    path = pki.server_cert.parent / "relative.yml"
    path.write_text("tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n")
    config = load_web_config(str(path))
    assert config.tls is not None
    assert config.tls.cert_file == str(pki.server_cert)


def test_empty_file_means_plain_http_without_auth(tmp_path: Path) -> None:
    """An empty web config file is valid: no TLS, no users, no headers."""
    config = load_web_config(write_config(tmp_path, ""))
    assert config.ssl_context() is None
    assert not config.users
    assert not config.headers


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("tls_server_confg: {}\n", "tls_server_confg"),
        ("tls_server_config:\n  cert_fil: a\n", "tls_server_config.cert_fil"),
        ("http_server_config:\n  http3: true\n", "http_server_config.http3"),
        ("http_server_config:\n  headers:\n    Content-Type: a\n", "headers.Content-Type"),
        ("http_server_config:\n  headers:\n    Authorization: a\n", "headers.Authorization"),
        ("http_server_config:\n  headers:\n    Content-Encoding: a\n", "headers.Content-Encoding"),
        ("http_server_config:\n  headers:\n    X-Frame-Options: allow\n", "X-Frame-Options"),
        ("basic_auth_users:\n  u: hunter2\n", "basic_auth_users.u is not a bcrypt hash"),
        ("tls_server_config:\n  cert_file: a.pem\n", "tls_server_config.key_file is required"),
        ("rate_limit: {interval: 1s, burst: 1}\n", "rate_limit"),
        ("tls_server_config:\n  client_allowed_sans: [a]\n", "client_allowed_sans"),
        ("tls_server_config:\n  key: inline\n", "tls_server_config.key"),
        ("- a list\n", "must be a mapping"),
        ("a: [\n", "not valid YAML"),
    ],
)
def test_invalid_files_name_the_field(tmp_path: Path, text: str, names: str) -> None:
    """Unknown or unsupported fields and bad values are a ConfigError naming the field."""
    with pytest.raises(ConfigError) as err:
        load_web_config(write_config(tmp_path, text))
    assert err.value.setting == "web.config.file"
    assert names in str(err.value)
    assert "hunter2" not in str(err.value)


@pytest.mark.parametrize(
    ("extra", "names"),
    [
        ("  client_auth_type: Sometimes\n", "client_auth_type"),
        ("  client_auth_type: RequireAnyClientCert\n", "RequireAnyClientCert"),
        ("  client_auth_type: RequireAndVerifyClientCert\n", "client_ca_file is required"),
        ("  client_ca_file: ca.pem\n", "client_ca_file is set"),
        ("  min_version: TLS14\n", "min_version"),
        ("  min_version: TLS13\n  max_version: TLS12\n", "max_version is below"),
        ("  cipher_suites: [TLS_NULL]\n", "unknown cipher TLS_NULL"),
        ("  curve_preferences: [CurveP999]\n", "unknown curve CurveP999"),
    ],
)
def test_invalid_tls_settings(pki: Pki, tmp_path: Path, extra: str, names: str) -> None:
    """TLS settings that cannot be honoured exactly are refused at start, naming the setting."""
    with pytest.raises(ConfigError, match=names):
        load_web_config(write_config(tmp_path, tls_block(pki, extra)))


def test_unreadable_or_mismatched_certificate(pki: Pki, tmp_path: Path) -> None:
    """A missing key file or a key that is not the certificate's fails at load, naming it."""
    missing = tmp_path / "missing.key"
    text = f"tls_server_config:\n  cert_file: {pki.server_cert}\n  key_file: {missing}\n"
    with pytest.raises(ConfigError, match=r"missing\.key"):
        load_web_config(write_config(tmp_path, text))
    text = f"tls_server_config:\n  cert_file: {pki.server_cert}\n  key_file: {pki.client_key}\n"
    with pytest.raises(ConfigError, match=r"cannot load certificate or key"):
        load_web_config(write_config(tmp_path, text))


def test_cipher_suites_and_curves_map_to_openssl(pki: Pki, tmp_path: Path) -> None:
    """Go cipher-suite names map to OpenSSL's; TLS 1.3 names and curves are accepted."""
    extra = (
        "  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_AES_128_GCM_SHA256]\n"
        "  curve_preferences: [X25519, CurveP256]\n  prefer_server_cipher_suites: false\n"
    )
    config = load_web_config(write_config(tmp_path, tls_block(pki, extra)))
    ctx = config.ssl_context()
    assert ctx is not None
    tls12 = {c["name"] for c in ctx.get_ciphers() if c["protocol"] == "TLSv1.2"}
    assert tls12 == {"ECDHE-ECDSA-AES128-GCM-SHA256"}


# -- the exporter process itself ----------------------------------------------------------------


def test_exporter_serves_https_with_basic_auth_and_reloads_it(pki: Pki, tmp_path: Path) -> None:
    """--web.config.file: HTTPS and basic auth on the real exporter; SIGHUP renews the users."""

    def web_yml(password: str) -> str:
        hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()
        return tls_block(pki) + f"basic_auth_users:\n  prometheus: {hashed}\n"

    web_config = write_config(tmp_path, web_yml("first-secret"))
    ctx = client_ctx(pki)

    def status(auth: str | None) -> int:
        req = urllib.request.Request(f"https://127.0.0.1:{port}/metrics")
        if auth:
            req.add_header("Authorization", auth)
        try:
            with urllib.request.urlopen(req, context=ctx, timeout=5) as resp:
                return int(resp.status)
        except urllib.error.HTTPError as exc:
            return exc.code

    with simulator(tmp_path, keys={"prod": KEYS["prod"]}, projects=2) as sim:
        env = {"NEON_API_KEY": KEYS["prod"], "NEON_API_URL": f"{sim.url}/api/v2"}
        with exporter(tmp_path, ["--web.config.file", web_config], env=env) as exp:
            port = int(exp.url.rsplit(":", 1)[1])
            assert '"https://127.0.0.1:' in exp.proc.output()
            assert status(None) == 401
            assert status(basic("prometheus", "wrong")) == 401
            assert status(basic("prometheus", "first-secret")) == 200
            Path(web_config).write_text(web_yml("second-secret"))
            exp.proc.popen.send_signal(signal.SIGHUP)
            wait_for(lambda: status(basic("prometheus", "second-secret")) == 200, timeout=15)
            assert status(basic("prometheus", "first-secret")) == 401
            output = exp.proc.output()
    assert "first-secret" not in output
    assert "second-secret" not in output


# -- a reload that changes TLS (SIGHUP to the real exporter) -------------------------------------


def _status(url: str, ctx: ssl.SSLContext | None = None) -> int | str:
    """The status of GET url, or the name of the error when no HTTP answer came."""
    try:
        with urllib.request.urlopen(url, context=ctx, timeout=5) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, OSError) as exc:
        return type(exc).__name__


def _reload_by_sighup(exp: Exporter) -> None:
    """SIGHUP, then wait until the exporter logs the reload as applied."""
    before = [r["event"] for r in exp.logs()].count("configuration reloaded")
    exp.proc.popen.send_signal(signal.SIGHUP)
    wait_for(
        lambda: [r["event"] for r in exp.logs()].count("configuration reloaded") > before,
        timeout=15,
        what="configuration reloaded",
    )


def _healthz(conn: http.client.HTTPConnection) -> int | str:
    """GET /healthz on a connection kept open: the status, or the error if it was closed."""
    try:
        conn.request("GET", "/healthz")
        resp = conn.getresponse()
        resp.read()
        return resp.status
    except (http.client.HTTPException, OSError) as exc:
        return type(exc).__name__


@contextmanager
def _exporter_with_web_config(tmp_path: Path, web_config: str) -> Iterator[tuple[Exporter, int]]:
    with simulator(tmp_path, keys={"prod": KEYS["prod"]}, projects=1) as sim:
        env = {"NEON_API_KEY": KEYS["prod"], "NEON_API_URL": f"{sim.url}/api/v2"}
        with exporter(tmp_path, ["--web.config.file", web_config], env=env) as exp:
            yield exp, int(exp.url.rsplit(":", 1)[1])


def test_reload_adding_client_certificates_applies_them(pki: Pki, tmp_path: Path) -> None:
    """TLS, then RequireAndVerifyClientCert added and SIGHUP: after "configuration reloaded" a
    client without a certificate is refused, on a new connection and on the keep-alive
    connection it opened before; one with a certificate of the CA gets in."""
    web_config = write_config(tmp_path, tls_block(pki))
    with _exporter_with_web_config(tmp_path, web_config) as (exp, port):
        url = f"https://127.0.0.1:{port}/metrics"
        assert _status(url, client_ctx(pki)) == 200
        kept = http.client.HTTPSConnection("127.0.0.1", port, context=client_ctx(pki), timeout=5)
        assert _healthz(kept) == 200
        extra = f"  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: {pki.ca}\n"
        write_config(tmp_path, tls_block(pki, extra))
        _reload_by_sighup(exp)
        assert _healthz(kept) != 200  # closed by the reload (or refused, had it raced it)
        kept.close()
        assert _status(url, client_ctx(pki)) != 200
        with_cert = client_ctx(pki, cert=(pki.client_cert, pki.client_key))
        assert _status(url, with_cert) == 200


def test_reload_adding_tls_to_plain_http_serves_https(pki: Pki, tmp_path: Path) -> None:
    """An empty web config (plain HTTP), then tls_server_config added and SIGHUP: HTTPS is
    served and plain HTTP no longer is."""
    web_config = write_config(tmp_path, "")
    with _exporter_with_web_config(tmp_path, web_config) as (exp, port):
        assert _status(f"http://127.0.0.1:{port}/metrics") == 200
        write_config(tmp_path, tls_block(pki))
        _reload_by_sighup(exp)
        assert _status(f"https://127.0.0.1:{port}/metrics", client_ctx(pki)) == 200
        assert _status(f"http://127.0.0.1:{port}/metrics") != 200


def test_reload_raising_min_version_refuses_tls12(pki: Pki, tmp_path: Path) -> None:
    """TLS with the default floor, then min_version TLS13 and SIGHUP: a TLS 1.2 client that got
    in before is refused; a TLS 1.3 client still gets in."""
    web_config = write_config(tmp_path, tls_block(pki))
    with _exporter_with_web_config(tmp_path, web_config) as (exp, port):
        url = f"https://127.0.0.1:{port}/metrics"
        tls12 = client_ctx(pki, max_version=ssl.TLSVersion.TLSv1_2)
        assert _status(url, tls12) == 200
        write_config(tmp_path, tls_block(pki, "  min_version: TLS13\n"))
        _reload_by_sighup(exp)
        assert _status(url, tls12) != 200
        assert _status(url, client_ctx(pki)) == 200


# -- the web config *path* is restart-only: removing it from the YAML keeps the running file ----


@contextmanager
def _exporter_with_yaml_web_config(
    tmp_path: Path, web_config: str
) -> Iterator[tuple[Exporter, int, Path]]:
    """The exporter with ``web_config_file`` in its YAML file (not a flag), and that file."""
    key_file = tmp_path / "prod.key"
    key_file.write_text(KEYS["prod"])
    key_file.chmod(0o600)
    keys = f"keys:\n  - name: prod\n    key_file: {key_file}\n"
    config = tmp_path / "config.yml"
    config.write_text(f"web_config_file: {web_config}\n" + keys)
    with simulator(tmp_path, keys={"prod": KEYS["prod"]}, projects=1) as sim:
        env = {"NEON_API_URL": f"{sim.url}/api/v2"}
        with exporter(tmp_path, ["--config.file", str(config)], env=env) as exp:
            yield exp, int(exp.url.rsplit(":", 1)[1]), config


def _drop_web_config_line(config: Path) -> None:
    lines = config.read_text().splitlines(keepends=True)
    config.write_text("".join(x for x in lines if not x.startswith("web_config_file:")))


def test_reload_removing_the_web_config_path_keeps_tls(pki: Pki, tmp_path: Path) -> None:
    """web_config_file removed from the YAML and SIGHUP: the path is restart-only, so TLS stays
    in force (plain HTTP is still refused) and the log says a restart is needed."""
    web_config = write_config(tmp_path, tls_block(pki))
    with _exporter_with_yaml_web_config(tmp_path, web_config) as (exp, port, config):
        https, plain = f"https://127.0.0.1:{port}/metrics", f"http://127.0.0.1:{port}/metrics"
        assert _status(https, client_ctx(pki)) == 200
        _drop_web_config_line(config)
        _reload_by_sighup(exp)
        assert _status(plain) != 200
        assert _status(https, client_ctx(pki)) == 200
        restart = [r for r in exp.logs() if r["event"] == "setting changed but needs a restart"]
    assert [r["setting"] for r in restart] == ["web_config_file"]

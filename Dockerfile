# neon-exporter container image.
#
#   docker build --build-arg VERSION="$(sed -n 's/^__version__ = "\(.*\)"/\1/p' exporter/__init__.py)" \
#     -t neon-exporter .
#   docker run --rm -p 10049:10049 neon-exporter --demo
#
# Two stages: the first installs the locked dependencies (requirements.lock: exact versions, with
# hashes; `make lock` refreshes it) and the wheel into a venv; the second copies only that venv
# onto a clean base, so no compiler, pip cache or source tree ships.
# deploy/container-test.sh builds and runs this file for real (podman, offline base image).

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
# PIP_CERT: a CA bundle path for builds behind a TLS-intercepting proxy (mount the file with
# `--volume`); PIP_INDEX_URL: a mirror. Both exist only in this stage, never in the final image.
ARG PIP_CERT
ARG PIP_INDEX_URL=https://pypi.org/simple
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
COPY requirements.lock pyproject.toml README* ./
COPY exporter ./exporter
SHELL ["/bin/sh", "-eu", "-c"]
# An unset build arg can arrive as an empty variable, which pip would take as a certificate path.
RUN if [ -z "${PIP_CERT:-}" ]; then unset PIP_CERT; fi; \
    python3 -m venv /opt/venv; \
    /opt/venv/bin/pip install --require-hashes -r requirements.lock; \
    /opt/venv/bin/pip wheel --no-deps --wheel-dir /wheels .; \
    /opt/venv/bin/pip install --no-deps /wheels/neon_exporter-*.whl; \
    /opt/venv/bin/pip uninstall --yes pip setuptools; \
    /opt/venv/bin/neon-exporter --version

FROM ${PYTHON_IMAGE}
ARG VERSION=unknown
ARG SOURCE=https://github.com/neon-exporter/neon-exporter
LABEL org.opencontainers.image.title="neon-exporter" \
      org.opencontainers.image.description="Prometheus exporter for the Neon serverless Postgres control plane" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="Apache-2.0"
# A fixed numeric user, so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
RUN groupadd --system --gid 10049 neon-exporter \
 && useradd --system --no-log-init --uid 10049 --gid 10049 --home-dir /nonexistent \
      --shell /usr/sbin/nologin neon-exporter
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
USER 10049:10049
EXPOSE 10049
# The image has no curl or wget: the venv's Python asks /healthz. It assumes the default listen
# address without TLS; with --web.listen-address or a web config, override it (or use the
# orchestrator's own probes, as deploy/kubernetes does).
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
  CMD ["python", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:10049/healthz', timeout=4)"]
# The key comes from NEON_API_KEY, from a mounted file named by NEON_API_KEY_FILE, or from the
# keys of a YAML config (--config.file / NEON_EXPORTER_CONFIG); `--demo` needs none.
ENTRYPOINT ["neon-exporter"]

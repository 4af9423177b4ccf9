# One image recipe for the four paystream services; the service is a build argument:
#
#   docker build --build-arg SERVICE=checkout -t paystream/checkout .
#
# SERVICE is the uv workspace member under services/ (checkout | webhook-ingest | ledger |
# invoicing); the container runs `python -m paystream.<SERVICE with - as _>`.
# docker-compose.yml builds all four from this file.

ARG PYTHON_IMAGE=python:3.11-slim

# ---- build: resolve the service's locked dependencies with uv ------------------------------------
FROM ${PYTHON_IMAGE} AS build
ARG SERVICE
# Same uv as the Makefile's UV_VERSION, from PyPI.
ARG UV_VERSION=0.13.9
RUN test -n "${SERVICE}" || (echo "build with --build-arg SERVICE=<checkout|webhook-ingest|ledger|invoicing>" >&2; exit 1)
RUN pip install --no-cache-dir --disable-pip-version-check "uv==${UV_VERSION}"

ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON_PREFERENCE=only-system \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /app

# Dependencies first (only the workspace's metadata), so source edits do not re-download them.
COPY pyproject.toml uv.lock ./
COPY shared/pyproject.toml shared/
COPY notifications/pyproject.toml notifications/
COPY devtools/pyproject.toml devtools/
COPY services/checkout/pyproject.toml services/checkout/
COPY services/webhook-ingest/pyproject.toml services/webhook-ingest/
COPY services/ledger/pyproject.toml services/ledger/
COPY services/invoicing/pyproject.toml services/invoicing/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --package "paystream-${SERVICE}" --no-install-workspace

# Then the code (tests, docs and local state are left out by .dockerignore).
COPY shared/ shared/
COPY notifications/ notifications/
COPY devtools/ devtools/
COPY services/ services/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --package "paystream-${SERVICE}"
RUN echo "paystream.$(echo "${SERVICE}" | tr - _)" >/app/.service-module \
    && /app/.venv/bin/python -c "import importlib, pathlib; importlib.import_module(pathlib.Path('/app/.service-module').read_text().strip())"

# ---- runtime: the venv and the sources it points at, no uv, not root ------------------------------
FROM ${PYTHON_IMAGE}
ARG SERVICE
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin paystream
COPY --from=build --chown=root:root /app /app
WORKDIR /app
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PAYSTREAM_SERVICE_NAME=${SERVICE} \
    PAYSTREAM_HTTP_HOST=0.0.0.0 \
    PAYSTREAM_HTTP_PORT=8000
USER paystream
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PAYSTREAM_HTTP_PORT', '8000'), timeout=2)"]
# docker-compose.yml passes the module explicitly; this default serves `docker run`.
CMD ["sh", "-c", "exec python -m \"$(cat /app/.service-module)\""]

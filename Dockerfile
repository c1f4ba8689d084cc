# One image recipe for every service: docker build --build-arg SERVICE=router -t vprime-router .
# The web app's charting library (uPlot), pinned by services/query/web/package-lock.json, served by query.
FROM node:20-slim AS web
WORKDIR /web
COPY services/query/web/package.json services/query/web/package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund

FROM python:3.11-slim
ARG SERVICE
ENV SERVICE=${SERVICE} \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    PYTHONUNBUFFERED=1 \
    HTTP_HOST=0.0.0.0 \
    PATH=/app/.venv/bin:$PATH
RUN pip install --no-cache-dir uv==0.13.8 && useradd --system --uid 10001 --no-create-home vprime
WORKDIR /app
COPY pyproject.toml uv.lock ./
COPY shared ./shared
COPY venues ./venues
COPY chain/pyproject.toml ./chain/pyproject.toml
COPY chain/src ./chain/src
COPY services ./services
COPY deploy/local ./deploy/local
COPY cli ./cli
COPY simulator ./simulator
COPY --from=web /web/node_modules ./services/query/web/node_modules
RUN test -n "$SERVICE" && uv sync --frozen --no-dev --package "vprime-${SERVICE}" && rm -rf /root/.cache
USER vprime
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s CMD python -c "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"HTTP_PORT\"]}/health')"
CMD ["sh", "-c", "exec python -m vprime_${SERVICE}"]

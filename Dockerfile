# syntax=docker/dockerfile:1
# Panoptica's production image (README "Production recipe"): built in one stage, run in another without compilers,
# as a user without privileges. The scanners with pins of their own get virtualenvs of their own, at the paths the
# code looks for them (.venv-checkov, .venv-semgrep beside the source), exactly as `make checkov` / `make semgrep`.

FROM python:3.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY tools/checkov-requirements.txt tools/semgrep-requirements.txt tools/
RUN python -m venv .venv-checkov && .venv-checkov/bin/python -m pip install -r tools/checkov-requirements.txt
RUN python -m venv .venv-semgrep && .venv-semgrep/bin/python -m pip install -r tools/semgrep-requirements.txt
COPY pyproject.toml README.md alembic.ini ./
COPY api api
COPY bot bot
COPY core core
COPY rules rules
COPY sandbox sandbox
# Editable, so the code finds its scanners' virtualenvs and rules beside it (/app), as in a checkout.
RUN python -m venv .venv && .venv/bin/python -m pip install -e . \
    && .venv/bin/python -m compileall -q api bot core

FROM python:3.11-slim-bookworm AS runtime
# git: the history scan fetches repositories with it (core/history).
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends git ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 panoptica \
    && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/panoptica --create-home panoptica
COPY --from=build /app /app
WORKDIR /app
ENV PATH=/app/.venv/bin:$PATH \
    PANOPTICA_HOME=/var/lib/panoptica \
    PANOPTICA_ENVIRONMENT=production \
    PANOPTICA_LOG_FORMAT=json \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
ENTRYPOINT ["panoptica"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]

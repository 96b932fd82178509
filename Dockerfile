# cekura-gate as an image: a GitLab job image (with `entrypoint: [""]`) or a Docker-based
# alternative to the composite Action. No USER: GitHub's Docker actions must run as root to
# write to the mounted workspace.
FROM python:3.12.8-slim-bookworm

LABEL org.opencontainers.image.title="cekura-gate" \
      org.opencontainers.image.description="CI quality gate for voice-AI agents tested on Cekura" \
      org.opencontainers.image.licenses="MIT"

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

COPY pyproject.toml README.md /src/
COPY gate /src/gate
RUN python -m pip install --no-cache-dir /src && rm -rf /src

ENTRYPOINT ["/usr/local/bin/cekura-gate"]
CMD ["--help"]

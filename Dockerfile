# cekura-gate as an image: a GitLab job image (with `entrypoint: [""]`) or `docker run`.
# Built for linux/amd64 and linux/arm64 by .github/workflows/release.yml, from the same lock
# as everything else: uv from requirements/uv.txt, the runtime from requirements/runtime.txt
# (hash-checked wheels only), and the package built by the backend inside that uv.
ARG PYTHON_IMAGE=python:3.12.8-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    UV_PYTHON_DOWNLOADS=never \
    UV_NO_CONFIG=1
COPY requirements/uv.txt /src/requirements/uv.txt
RUN python -m pip install --no-cache-dir --require-hashes --no-deps --only-binary :all: \
        -r /src/requirements/uv.txt
COPY pyproject.toml README.md LICENSE /src/
COPY gate /src/gate
RUN uv build --wheel --out-dir /dist /src

FROM ${PYTHON_IMAGE}
# The release workflow passes both; metadata-action's labels (source, created, ...) are added
# on top. Keep VERSION's default equal to the package version (a test checks).
ARG VERSION=0.2.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="cekura-gate" \
      org.opencontainers.image.description="CI quality gate for voice-AI agents tested on Cekura" \
      org.opencontainers.image.source="https://github.com/cekura-gate/cekura-gate" \
      org.opencontainers.image.url="https://github.com/cekura-gate/cekura-gate" \
      org.opencontainers.image.documentation="https://github.com/cekura-gate/cekura-gate#readme" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="MIT"

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

COPY requirements/runtime.txt /tmp/runtime.txt
COPY --from=build /dist/ /tmp/dist/
RUN python -m pip install --no-cache-dir --require-hashes --no-deps --only-binary :all: \
        -r /tmp/runtime.txt \
    && python -m pip install --no-cache-dir --no-deps /tmp/dist/*.whl \
    && rm -rf /tmp/runtime.txt /tmp/dist \
    && groupadd --system --gid 10001 gate \
    && useradd --no-log-init --system --uid 10001 --gid gate --no-create-home \
        --shell /usr/sbin/nologin gate

# Unprivileged: reports are written to the working directory, which GitLab's Docker executor
# makes world-writable; see the README for runners that need root.
USER 10001:10001

ENTRYPOINT ["/usr/local/bin/cekura-gate"]
CMD ["--help"]

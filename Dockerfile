# dcgan-digits: the web service (uvicorn app.main:app) with the models in models/ baked in.
#
#   podman build -t dcgan-digits .                                  # CPU, tensorflow-cpu
#   podman build --build-arg TF_PACKAGE='tensorflow[and-cuda]' -t dcgan-digits:gpu .
#
# TF_PACKAGE chooses the TensorFlow distribution: tensorflow-cpu (default, the smallest),
# tensorflow, or tensorflow[and-cuda] (CUDA libraries from PyPI, for the GPU image). The version
# range stays in one place, pyproject.toml's tensorflow requirement, and is applied to whichever
# package is chosen (a TF_PACKAGE with its own specifier, e.g. tensorflow-cpu==2.21.0, is used as
# given).

# The base image, pinned by digest (python:3.11-slim, linux/amd64 and arm64); refresh with
# `docker buildx imagetools inspect python:3.11-slim`. Machines without a registry build from a
# local image instead: --build-arg BASE_IMAGE=python:3.11-slim.
ARG BASE_IMAGE=python:3.11-slim@sha256:9c900dea9e8fb7e16277c179b555cc72d29a352dbc33cff48ad5a0412fd5bfc7

# ---- requirements: pyproject's dependencies and $EXTRAS, with $TF_PACKAGE for tensorflow ----
# The image runs the service, its jobs (the trainer) and dcgan-worker, with SQLite or PostgreSQL
# (docker-compose.scale.yml, deploy/k8s): the serve, train and postgres extras. pyproject asks
# for "tensorflow"; installing the project normally would pull in the full tensorflow package
# next to tensorflow-cpu (the same module installed twice). So the base dependencies and those
# extras become a requirements file with the tensorflow entry renamed to $TF_PACKAGE (same
# version range), and the project itself is installed with --no-deps. A stage of its own so that
# the dependency layer below is rebuilt only when this file's content changes, not on every edit
# of pyproject.toml.
FROM ${BASE_IMAGE} AS requirements
ARG TF_PACKAGE=tensorflow-cpu
ARG EXTRAS="serve train postgres"
WORKDIR /src
COPY pyproject.toml ./
RUN python -c 'import re, sys, tomllib; \
tf, extras = sys.argv[1], sys.argv[2].split(); \
project = tomllib.load(open("pyproject.toml", "rb"))["project"]; \
deps = project["dependencies"] + [d for e in extras for d in project["optional-dependencies"][e]]; \
parts = [re.fullmatch(r"\s*([A-Za-z0-9._-]+)(.*)", d, re.S).groups() for d in dict.fromkeys(deps)]; \
print("\n".join((tf if re.search("[<>=!~@]", tf) else tf + rest) if re.sub("[._-]+", "-", name).lower() == "tensorflow" else name + rest for name, rest in parts))' \
        "$TF_PACKAGE" "$EXTRAS" > requirements.txt \
    && cat requirements.txt

# ---- deps: the venv /opt/venv with the dependencies (the big, rarely rebuilt layer) ----
FROM ${BASE_IMAGE} AS deps
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH
RUN python -m venv /opt/venv
COPY --from=requirements /src/requirements.txt /tmp/requirements.txt
RUN pip install -r /tmp/requirements.txt

# ---- wheel: the project (app/, training/, client/, the shipped models) as a wheel ----
FROM deps AS wheel
WORKDIR /src
COPY pyproject.toml README.md ./
COPY app ./app
COPY training ./training
COPY client ./client
COPY models ./models
RUN pip wheel --no-deps --wheel-dir /wheels .

# ---- runtime: the venv, the models and a non-root user ----
FROM ${BASE_IMAGE}

ARG TF_PACKAGE=tensorflow-cpu
LABEL org.opencontainers.image.title="dcgan-digits" \
      org.opencontainers.image.description="Handwritten digits from a DCGAN trained on MNIST" \
      dcgan-digits.tf-package="$TF_PACKAGE"

# The service reads DCGAN_* settings (app/config.py); the paths here are absolute so that jobs
# (`python -m training`, run from WORKDIR /app) and the service agree. models/mnist-classifier
# (training's --eval-every classifier) is found as ./models/mnist-classifier from /app.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    TF_CPP_MIN_LOG_LEVEL=2 \
    DCGAN_MODELS_DIR=/app/models \
    DCGAN_DATA_DIR=/app/data

# uid/gid 10001: volumes and bind mounts over /app/models and /app/data must be writable by it.
RUN groupadd --gid 10001 app \
    && useradd --uid 10001 --gid app --create-home --home-dir /home/app --shell /usr/sbin/nologin app

WORKDIR /app
COPY scripts/container-entrypoint.sh /usr/local/bin/dcgan-entrypoint
# /app/models and /app/data: empty and owned by the service's user (a new named volume mounted
# there takes this ownership).
RUN chmod 0755 /usr/local/bin/dcgan-entrypoint \
    && mkdir -p /app/models /app/data \
    && chown app:app /app/models /app/data

COPY --from=deps /opt/venv /opt/venv
# The image's models live outside the models folder; the entrypoint copies the missing ones into
# $DCGAN_MODELS_DIR at each start (see scripts/container-entrypoint.sh for why).
COPY models /opt/dcgan-digits/models

# The project last, so that a source edit rebuilds only this small layer. The wheel's copy of the
# shipped models (for installs without DCGAN_MODELS_DIR) becomes a link to the image's, so the
# image holds them once. `pip check` weighs the base dependencies only, not the extras', so
# tensorflow-cpu standing in for tensorflow passes it (the same `tensorflow` module under another
# distribution name); the import line checks the extras.
COPY --from=wheel /wheels /tmp/wheels
RUN pip install --no-cache-dir --no-deps /tmp/wheels/*.whl \
    && rm -rf /tmp/wheels \
    && site=$(python -c 'import sysconfig; print(sysconfig.get_path("purelib"))') \
    && rm -rf "$site/dcgan_digits_models" \
    && ln -s /opt/dcgan-digits/models "$site/dcgan_digits_models" \
    && python -c "import tensorflow, fastapi, uvicorn, psycopg, psycopg_pool, app.main, training.cli" \
    && pip check

# numeric, so that Kubernetes runAsNonRoot and hosts without this passwd entry can check it
USER 10001:10001
EXPOSE 8000

# Liveness only (/readyz tells whether a model is loaded). Slim has no curl.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

ENTRYPOINT ["dcgan-entrypoint"]
# dcgan-serve: uvicorn with the header timeout and connection limit of DCGAN_* settings
# (docs/configuration.md). `dcgan-worker` runs training jobs for the scale-out set-up.
CMD ["dcgan-serve", "--host", "0.0.0.0", "--port", "8000"]

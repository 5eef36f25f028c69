# The runtime image: every service of the platform runs from it (model server, drift monitor and
# canary controller, retraining trigger, trainer, Feast feature server, MLflow registry server).
#   docker build --build-arg CODE_VERSION=$(git rev-parse --short HEAD) -t REGISTRY/mlops-runtime:TAG .
FROM python:3.11-slim-bookworm

ARG CODE_VERSION=unknown
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MLFLOW_DISABLE_TELEMETRY=true \
    DO_NOT_TRACK=true \
    HOME=/tmp \
    MLOPS_CODE_VERSION=${CODE_VERSION}

WORKDIR /app
COPY pyproject.toml constraints.txt README.md ./
COPY mlops_dsl ./mlops_dsl
COPY components ./components
# The same pinned versions CI tests with.
RUN pip install -c constraints.txt ".[runtime]" \
    && useradd --uid 10001 --gid 0 --no-create-home --shell /usr/sbin/nologin mlops

# Non-root, matching the pods' runAsUser; the root filesystem is mounted read-only in the cluster.
USER 10001
ENTRYPOINT ["mlops"]
CMD ["--help"]

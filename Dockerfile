# The production image: the wheel (templates, static files, migrations and the `plausi` command inside) on a slim
# Python. It runs what `plausi start` runs (config/processes.py; tests/config/test_deploy_files.py checks that this
# file, compose.yaml and the Procfile agree with it). No image is built on the project's own machines (no
# Docker there): `plausi start` itself is what the tests run.
#   docker build -t plausi .                                  (add --build-arg PLAUSI_EXTRAS=[ml] for torch)
#   docker compose up                                         (compose.yaml: PostgreSQL, Redis and the processes)
FROM python:3.12-slim AS wheel
WORKDIR /src
COPY . .
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.12-slim
ARG PLAUSI_EXTRAS=""
COPY --from=wheel /wheels /wheels
RUN pip install --no-cache-dir "$(ls /wheels/plausi-*.whl)${PLAUSI_EXTRAS}" \
    && useradd --system --create-home --home-dir /var/lib/plausi plausi
ENV DJANGO_SETTINGS_MODULE=config.settings.production \
    PLAUSI_VAR_DIR=/var/lib/plausi \
    STATIC_ROOT=/var/lib/plausi/static \
    PRIVATE_MEDIA_ROOT=/var/lib/plausi/private \
    WEB_BIND=0.0.0.0:8000 \
    PYTHONUNBUFFERED=1
USER plausi
WORKDIR /var/lib/plausi
EXPOSE 8000
CMD ["plausi", "start"]

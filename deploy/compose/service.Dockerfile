# One image per service: the shared kernel and that service's package, nothing of the others.
#   docker build -f deploy/compose/service.Dockerfile --build-arg SERVICE=calls -t poles-calls .
FROM python:3.11-slim
ARG SERVICE
WORKDIR /app
COPY pyproject.toml ./
COPY shared ./shared
COPY services/__init__.py ./services/__init__.py
COPY services/${SERVICE} ./services/${SERVICE}
RUN pip install --no-cache-dir . && test -n "${SERVICE}"
ENV POLES_HTTP_HOST=0.0.0.0 SERVICE=${SERVICE}
USER nobody
CMD ["sh", "-c", "exec python -m services.${SERVICE}.app"]

# hotspots: the forecast API by default; any other `hotspots` command as arguments.
FROM python:3.11-slim

# LightGBM needs the GNU OpenMP runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends libgomp1 \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY src ./src
# dask: the scheduler and workers of docker-compose.yml run from this image too
RUN pip install --no-cache-dir '.[dask]'

RUN useradd --create-home --uid 10001 hotspots \
 && mkdir -p /app/models /app/var && chown hotspots /app/models /app/var
USER hotspots
# models: the registry; var: API keys, the audit log and published snapshots
ENV HOTSPOTS_MODELS_DIR=/app/models HOTSPOTS_STATE_DIR=/app/var
VOLUME ["/app/models", "/app/var"]

EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"

ENTRYPOINT ["hotspots"]
# the events to forecast from: mount them and set HOTSPOTS_EVENTS_PATH (or pass --events)
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]

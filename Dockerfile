# hotspots: the forecasting CLI (and, from the service release on, the API).
FROM python:3.11-slim

# LightGBM needs the GNU OpenMP runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends libgomp1 \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install --no-cache-dir .

RUN useradd --create-home --uid 10001 hotspots \
 && mkdir -p /app/models && chown hotspots /app/models
USER hotspots
ENV HOTSPOTS_MODELS_DIR=/app/models
VOLUME ["/app/models"]

ENTRYPOINT ["hotspots"]
CMD ["--help"]

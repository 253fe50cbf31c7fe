"""The forecast service: API keys, audit, publishing and the FastAPI app."""

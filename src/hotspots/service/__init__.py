"""The forecast service (HTTP only): the FastAPI app, routes, auth, limits, problems, pages."""

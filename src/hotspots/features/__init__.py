"""Features: events -> cell x period panel, and (later) lags and covariates."""

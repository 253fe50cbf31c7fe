"""What a running service holds below its HTTP shell: the served documents per model, the
stores (keys, audit log, posted events, patrol logs) and the republish schedule.

It sits above publishing, feedback and access and below ``hotspots.service`` (HTTP only) and
the CLI, which both use it.
"""

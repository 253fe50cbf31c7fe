"""Closing the loop: patrol logs in, realised effectiveness and the feedback-loop monitor out.

Import the modules themselves (``hotspots.feedback.patrols``, ``.effectiveness``, ...): this
file stays empty so the helpers writing them in parallel never edit one shared list.
"""

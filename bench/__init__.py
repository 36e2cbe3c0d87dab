"""``make bench``: adk-pg's PostgresSessionService against ADK's own session services.

``python -m bench`` (see :mod:`bench.__main__`) creates fresh databases, runs every
implementation in its own subprocesses (:mod:`bench.worker`), interleaved across repetitions,
and prints throughput, latency percentiles, peak RSS, statements per call and the targets of
DESIGN.md section 8. ``python -m bench.profile`` breaks adk-pg's hot paths down into client CPU
and server time.
"""

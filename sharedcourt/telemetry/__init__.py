"""Telemetry: log lines that carry their request and conversation, and the Prometheus metrics of a front door.

`logs` configures logging from the settings (level, text or JSON, stdout or a rotated file) and holds the
request-id middleware; `metrics` builds the metric objects in a factory and gives the router, outbox and handoff
small typed hooks. The database-derived gauges are read at scrape time by `sharedcourt.web.metrics`.
"""

"""Analytics: metrics over the event history, payer scorecards, the CMS-0057-F report.

``facts`` folds each request's events into per-request facts; ``metrics`` defines
every metric over them (pure); ``queries`` keeps facts and rollups current in
the database as events are written and reads the metrics from them; ``cms0057f``
builds the yearly public report. Callers (web UI, API, CLI) use
``precert.services.analytics``.
"""

"""Background jobs: durable job records in the database, delivered by Huey.

``jobs`` holds the job runner (claim, run, retry with backoff, give up to the
review queue) and the periodic work (follow-up scans, approval expiry,
notification fall-back inquiries); ``worker`` wires them to Huey's SQLite
(embedded) or Redis (multi-node) storage and runs the consumer.
"""

"""The web UI: server-rendered pages (Jinja2 and htmx) for staff, and the patient status page."""

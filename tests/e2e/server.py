"""Serve precert for the browser tests: ``python -m tests.e2e.server PORT``.

Settings come from the environment (PRECERT_DATABASE_URL, PRECERT_SECRET_KEY),
exactly as ``precert serve`` reads them; only the port is given here.
"""

from __future__ import annotations

import sys

import uvicorn

from precert.bootstrap import bootstrap
from precert.web.app import create_app

if __name__ == "__main__":
    uvicorn.run(
        create_app(bootstrap()), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning"
    )

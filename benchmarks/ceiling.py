"""The trivial endpoint the API load benchmark compares with: what FastAPI, uvicorn and
SQLite cost before any scoring.

``POST /v1/applications/score`` parses the same body with a pydantic model, looks up
the applicant by key and its phone's identifier by hash (two indexed look-ups in the
served store's copy), inserts one row in its own transaction (WAL, ``synchronous=NORMAL``
as the store) and answers a small JSON object. Served by uvicorn with as many workers
as ``graphsvc serve`` gets:

    CEILING_DB=bench-data/ceiling.db python -m uvicorn --app-dir benchmarks --factory ceiling:create --workers 2
"""

from __future__ import annotations

import os
import zlib

import apsw
from fastapi import FastAPI
from pydantic import BaseModel


class Contact(BaseModel):
    contact_phone: str
    relation: str | None = None
    source: str | None = None


class Application(BaseModel):
    application_id: str
    applicant_id: str
    applied_at: str
    phone: str | None = None
    device_id: str | None = None
    ip: str | None = None
    contacts: list[Contact] = []


def create() -> FastAPI:
    con = apsw.Connection(os.environ["CEILING_DB"])
    con.set_busy_timeout(30_000)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    con.execute("CREATE TABLE IF NOT EXISTS ceiling "
                "(application_id TEXT PRIMARY KEY, applicant INTEGER, phone INTEGER)")
    app = FastAPI()

    @app.post("/v1/applications/score")
    async def score(body: Application) -> dict:
        applicant = con.execute("SELECT id FROM applicants WHERE key = ?", (body.applicant_id,)).fetchone()
        phone = con.execute("SELECT id FROM identifiers WHERE hash = ?",
                            (zlib.crc32((body.phone or "").encode()),)).fetchone()
        con.execute("INSERT OR IGNORE INTO ceiling VALUES (?, ?, ?)",
                    (body.application_id, applicant and applicant[0], phone and phone[0]))
        return {"application_id": body.application_id, "score": 0, "band": "low"}

    @app.get("/readyz")
    async def ready() -> dict:
        return {"status": "ready"}

    return app

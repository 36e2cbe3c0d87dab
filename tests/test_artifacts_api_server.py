"""ADK's own ``adk api_server`` with ``--session_service_uri``, ``--memory_service_uri`` and
``--artifact_service_uri`` all ``adkpg://...``: a session's artifacts listed and served over
real HTTP.

The scheme is registered by the agents directory's ``services.py`` or ``services.yaml`` (the
copies in examples/); the server runs as in test_adk_api_server.py.
"""

from __future__ import annotations

import base64
from pathlib import Path

import asyncpg
import httpx
import pytest
from google.genai import types
from test_adk_api_server import APP, USER, agents_dir, api_server

from adk_pg.adk import PostgresArtifactService
from adk_pg.db.dsn import with_database

CHART = bytes(range(256)) * 4


@pytest.mark.parametrize("services_file", ["services.py", "services.yaml"])
async def test_api_server_serves_artifacts_from_postgres(
    db: str, admin: asyncpg.Connection, tmp_path: Path, services_file: str
) -> None:
    uri = with_database(db, db.rpartition("/")[2], scheme="adkpg")
    agents = agents_dir(tmp_path, services_file)
    # Saved by another process (this one): the server must read it from the database.
    async with PostgresArtifactService(db) as service:
        await service.save_artifact(
            app_name=APP,
            user_id=USER,
            filename="user:notes.txt",
            artifact=types.Part(text="shared by all sessions"),
        )
    async with (
        api_server(
            agents, uri, tmp_path / "server.log", extra_args=["--artifact_service_uri", uri]
        ) as base,
        httpx.AsyncClient(base_url=base, timeout=30) as client,
    ):
        session = f"/apps/{APP}/users/{USER}/sessions/web-1"
        created = await client.post(
            f"/apps/{APP}/users/{USER}/sessions", json={"sessionId": "web-1"}
        )
        assert created.status_code == 200, created.text
        for data in (b"first", CHART):
            saved = await client.post(
                f"{session}/artifacts",
                json={
                    "filename": "chart.png",
                    "artifact": {
                        "inlineData": {
                            "mimeType": "image/png",
                            "data": base64.b64encode(data).decode(),
                        }
                    },
                    "customMetadata": {"source": "upload"},
                },
            )
            assert saved.status_code == 200, saved.text
        assert saved.json()["version"] == 1
        assert saved.json()["canonicalUri"] == (
            f"artifact://apps/{APP}/users/{USER}/sessions/web-1/artifacts/chart.png/versions/1"
        )

        listed = await client.get(f"{session}/artifacts")
        assert listed.json() == ["chart.png", "user:notes.txt"]
        # Parts travel as ADK's JSON: camelCase, bytes in URL-safe base64.
        latest = await client.get(f"{session}/artifacts/chart.png")
        assert latest.status_code == 200, latest.text
        assert base64.urlsafe_b64decode(latest.json()["inlineData"]["data"]) == CHART
        assert latest.json()["inlineData"]["mimeType"] == "image/png"
        first = await client.get(f"{session}/artifacts/chart.png/versions/0")
        assert base64.urlsafe_b64decode(first.json()["inlineData"]["data"]) == b"first"
        assert (await client.get(f"{session}/artifacts/chart.png/versions")).json() == [0, 1]
        metadata = (await client.get(f"{session}/artifacts/chart.png/versions/1/metadata")).json()
        assert (metadata["version"], metadata["mimeType"], metadata["customMetadata"]) == (
            1,
            "image/png",
            {"source": "upload"},
        )
        notes = await client.get(f"{session}/artifacts/user:notes.txt")
        assert notes.json() == {"text": "shared by all sessions"}
        missing = await client.get(f"{session}/artifacts/nope.txt")
        assert missing.status_code == 404
        refused = await client.post(
            f"{session}/artifacts", json={"filename": "empty", "artifact": {}}
        )
        assert refused.status_code == 400, refused.text  # InputValidationError

        deleted = await client.delete(f"{session}/artifacts/chart.png")
        assert deleted.status_code == 200, deleted.text
        assert (await client.get(f"{session}/artifacts")).json() == ["user:notes.txt"]

    stored = await admin.fetch(
        "SELECT session_id, filename, versions FROM adk.artifact_overview ORDER BY filename"
    )
    assert [tuple(r) for r in stored] == [(None, "user:notes.txt", 1)]

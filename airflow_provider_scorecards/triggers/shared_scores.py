"""What the score gate's triggers share: the key, the blocking source and the snapshot of one fetch.

:mod:`.shared_fetch` is a generic registry (any key, any blocking source); this module says what a
Scorecards fetch is to it. Two triggers share a fetch only when they would send the very same request to
the very same place (:class:`ScoresKey`), and what they share is an immutable :class:`ScoresSnapshot`
indexed by score id, built in the fetching thread.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import secrets
from collections.abc import Hashable
from dataclasses import dataclass

from airflow_provider_scorecards.client.client import ScorecardsClient
from airflow_provider_scorecards.client.pages import Record
from airflow_provider_scorecards.client.query import ScoresQuery
from airflow_provider_scorecards.client.settings import ClientSettings
from airflow_provider_scorecards.triggers.shared_fetch import SharedFetches

logger = logging.getLogger(__name__)

_DIGEST_KEY = secrets.token_bytes(32)
"""Keys the settings digest: equal settings give equal digests within this process, and a digest that
ends up anywhere else says nothing about the credentials behind it."""


def settings_digest(settings: ClientSettings) -> str:
    """Return a keyed digest of every resolved setting, credentials included, never the credentials.

    Two triggers share a fetch only if they would send the very same request to the very same place:
    same site or URL, same keys, same TLS and proxy settings, same retry policy.
    """
    payload = json.dumps(dataclasses.asdict(settings), sort_keys=True, default=str).encode()
    return hashlib.blake2b(payload, key=_DIGEST_KEY, digest_size=16).hexdigest()


@dataclass(frozen=True)
class ScoresKey:
    """What must be equal for two checks to share a fetch: connection id, resolved settings and query."""

    conn_id: str
    settings_digest: str
    query: ScoresQuery

    @classmethod
    def of(cls, conn_id: str, settings: ClientSettings, query: ScoresQuery) -> ScoresKey:
        """Build the key of a check, with its settings reduced to their digest (no credential kept)."""
        return cls(conn_id, settings_digest(settings), query)

    @property
    def connection(self) -> tuple[str, str]:
        """The group of the key: fetch slots are per connection, so one stalled server stalls only its own."""
        return (self.conn_id, self.settings_digest)


def _connection_of(key: Hashable) -> Hashable:
    return key.connection if isinstance(key, ScoresKey) else key


@dataclass(frozen=True)
class ScoresSnapshot:
    """Every record of one fetch, with an index by id built in the fetching thread.

    Shared by every trigger of the key: nobody mutates it (events carry copies of the records they send).
    """

    records: list[Record]
    by_id: dict[str, Record]


class ScoresSource:
    """The blocking side of a key: one client (one session, one page at a time) and its query."""

    def __init__(self, settings: ClientSettings, query: ScoresQuery, *, user_agent_suffix: str = "") -> None:
        # concurrency=1: one page at a time, so no page pool of our own inside the triggerer's process.
        self._client = ScorecardsClient(
            settings, concurrency=1, user_agent_suffix=user_agent_suffix, log=logger
        )
        self._query = query

    def fetch(self) -> ScoresSnapshot:
        """Fetch every page of the query (blocking) and index the records by id."""
        records = self._client.fetch(self._query).records
        return ScoresSnapshot(records, {record["id"]: record for record in records})

    def abandon(self) -> None:
        """Cut the fetch in flight short: its last trigger has left (see ``ScorecardsClient.abandon``)."""
        self._client.abandon()

    def close(self) -> None:
        """Close the client's session once no trigger shares this key any more."""
        self._client.close()


SHARED_SCORES: SharedFetches[ScoresSnapshot] = SharedFetches(group_of=_connection_of)
"""The score fetches shared by the :class:`DatadogScoreThresholdTrigger` instances of this process."""

"""What a test does with the simulator: set a score, let time pass, break the API, know the answer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from airflow_provider_scorecards.client.pages import flatten
from airflow_provider_scorecards.client.query import ScoresQuery
from airflow_provider_scorecards.hooks import DEFAULT_CONN_ID
from airflow_provider_scorecards.simulator import ScorecardsSimulator
from airflow_provider_scorecards.simulator.server import RequestRecord
from airflow_provider_scorecards.testing.watchers import first_event


class SimulatorFixture:
    """A running simulator that connection ``conn_id`` points at (the ``scorecards_simulator`` fixture).

    :param simulator: the running :class:`~airflow_provider_scorecards.simulator.ScorecardsSimulator`,
        for anything this class does not wrap.
    :param conn_id: the Airflow connection id pointed at it.
    """

    def __init__(self, simulator: ScorecardsSimulator, conn_id: str = DEFAULT_CONN_ID) -> None:
        self.simulator = simulator
        self.conn_id = conn_id

    @property
    def url(self) -> str:
        """The simulator's base URL (``http://127.0.0.1:<port>``)."""
        return self.simulator.url

    @property
    def connection_uri(self) -> str:
        """The Airflow connection URI the fixture put in ``AIRFLOW_CONN_<CONN_ID>``."""
        return self.simulator.connection_uri()

    def set_score(self, entity_id: str, score: float, *, scorecard_id: str = "production-readiness") -> None:
        """Give ``entity_id`` this score on a scorecard from now on (a multiple of 1/number of rules)."""
        self.simulator.set_score(entity_id, score, scorecard_id=scorecard_id)

    def advance(self, steps: int = 1) -> None:
        """Let ``steps`` drift steps pass at once: failing outcomes get fixed, scores only improve."""
        self.simulator.advance(steps)

    def inject(self, kind: str, count: int = 1, **options: Any) -> None:
        """Make the next ``count`` API requests fail with ``kind`` (``status``, ``rate_limit``, ...).

        ``options`` are those of :meth:`~airflow_provider_scorecards.simulator.faults.FaultInjector.inject`
        (``status=503``, ``after=2``, ...).
        """
        self.simulator.faults.inject(kind, count, **options)

    def expected_records(self, aggregation: str, **filters: Any) -> list[dict[str, Any]]:
        """Exactly the flat records the operator pushes for this query, computed from the organisation.

        ``filters`` are the operator's own arguments (``rule_levels=[1, 2]``, ``scorecard_ids="a,b"``,
        ``is_enabled=True``, ``sort="-score"``, ``max_results=10``), checked the same way; the records are
        flattened by the client's own code.
        """
        max_results = filters.pop("max_results", None)
        query = ScoresQuery.build(aggregation, **filters)
        items = self.simulator.expected_scores(query.aggregation, query.to_params(), sort=query.sort)
        records = [flatten(item) for item in items]
        return records if max_results is None else records[: int(max_results)]

    def watch(
        self,
        watched: Any,
        *,
        then: Callable[[], object] | None = None,
        timeout: float = 30.0,
        poll_interval: float = 0.05,
    ) -> dict[str, Any]:
        """Run a watcher's trigger against this simulator until it fires; return the event's payload.

        :param watched: an ``Asset`` with one watcher (as a DAG file defines it), an ``AssetWatcher``, or
            the trigger.
        :param then: called once the watcher has taken its baseline (its first request was answered):
            make the change it should see there, ``lambda: scorecards_simulator.set_score(...)``.
        :param timeout: the longest wait for the event, in seconds; none by then fails the test.
        :param poll_interval: replaces the trigger's own, so that a test does not wait five minutes.

        The trigger runs as the triggerer runs it (rebuilt from its serialized form, its ``run()`` in an
        event loop); call this from a plain, not ``async``, test.
        """
        answered = len(self.score_requests)
        return first_event(
            watched,
            timeout=timeout,
            poll_interval=poll_interval,
            then=then,
            baseline_taken=lambda: len(self.score_requests) > answered,
        )

    @property
    def posted_outcomes(self) -> list[dict[str, Any]]:
        """Every outcome result the simulator accepted, in order, as sent.

        Each a dict: ``rule_id``, ``entity_reference``, ``state`` and ``remarks`` (None when not sent). The
        scores count them ``outcome_delay`` seconds after they were accepted.
        """
        return self.simulator.writes.posted_outcomes()

    @property
    def rules(self) -> list[dict[str, Any]]:
        """The custom rules created through the API, in order: ``id`` and the attributes it answered."""
        return self.simulator.writes.created_rules()

    @property
    def score_requests(self) -> list[RequestRecord]:
        """Every score request the simulator answered so far (never its headers)."""
        return self.simulator.score_requests()

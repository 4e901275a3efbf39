"""The client outside a task: the hook turns the connection into a client that fetches every page."""

# START client_fetch
from airflow_provider_scorecards.client import ScoresQuery
from airflow_provider_scorecards.hooks.scorecards import DatadogScorecardsHook

query = ScoresQuery.build("by-team", rule_levels=[1, 2], is_enabled=True, sort="-score")
with DatadogScorecardsHook() as hook:
    result = hook.get_conn().fetch(query, concurrency=4)
for record in result.records:
    print(record["id"], record["score"])
print(result.stats.pages, result.stats.requests, result.stats.retries, result.stats.duplicates)
# END client_fetch

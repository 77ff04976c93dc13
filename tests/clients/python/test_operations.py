"""What operators scrape: `/metrics` read by the official Prometheus Python
client's parser, as a Prometheus server would read it. Every line must
parse, and every metric Tessera documents must be there."""

import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from test_influxdb_client import env, tessera, new_dashboard  # noqa: F401  (fixtures)

EXPECTED = {
    "tessera_build_info",
    "tessera_uptime_seconds",
    "tessera_http_requests",
    "tessera_http_request_duration_seconds",
    "tessera_http_requests_in_flight",
    "tessera_store_commits",
    "tessera_store_writes",
    "tessera_store_commit_group_size",
    "tessera_store_commit_duration_seconds",
    "tessera_store_disk_bytes",
    "tessera_store_records",
    "tessera_cache_lookups",
    "process_resident_memory_bytes",
    "process_open_fds",
    "process_start_time_seconds",
}


def scrape(url):
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as r:
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        return r.read().decode()


def test_metrics_parse_with_the_prometheus_parser(env):  # noqa: F811
    d = new_dashboard(env)
    for _ in range(3):
        env.dashboards.get_dashboards_id(d.id)
    text = scrape(env.url)

    families = list(text_string_to_metric_families(text))
    names = {f.name for f in families}
    missing = EXPECTED - names
    assert not missing, f"missing families {missing} in:\n{text}"

    # The parser must account for every sample line: none skipped.
    sample_lines = [l for l in text.splitlines() if l and not l.startswith("#")]
    samples = [s for f in families for s in f.samples]
    assert len(samples) == len(sample_lines)

    by_name = {s.name: s for f in families for s in f.samples if not s.labels}
    assert by_name["tessera_store_commits_total"].value >= 1
    assert by_name["tessera_store_disk_bytes"].value > 0

    routes = {
        (s.labels["route"], s.labels["method"], s.labels["status"])
        for f in families
        if f.name == "tessera_http_requests"
        for s in f.samples
    }
    # Templates, not paths: the dashboard's ID never becomes a label.
    assert ("/api/v2/dashboards/{dashboardID}", "GET", "2xx") in routes, routes
    assert not any(d.id in r for r, _, _ in routes)

    records = {
        s.labels["kind"]: s.value
        for f in families
        if f.name == "tessera_store_records"
        for s in f.samples
    }
    assert records["dashboards"] >= 1 and records["users"] >= 1, records

    hits = {
        (s.labels["cache"], s.labels["result"]): s.value
        for f in families
        if f.name == "tessera_cache_lookups"
        for s in f.samples
    }
    assert hits.get(("rendered_dashboards", "hit"), 0) >= 1, hits
    assert hits.get(("credentials", "hit"), 0) >= 1, hits

    build = next(f for f in families if f.name == "tessera_build_info").samples[0]
    assert build.labels["version"] and build.labels["commit"]

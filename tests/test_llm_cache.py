"""The LLM response cache keeps the model's answers, never an outage, and the endpoint settings
come from flag > manifest > environment > schema default: a real loopback Chat Completions server
that the tests take down and bring back, the real openai client, the openai drafter, and whole
builds through the command line."""
import json
import socket
import types

import pytest
from conftest import make_photo, region, write_sidecar
from fake_openai_server import FakeOpenAIServer, completion
from test_openai_drafter import BOXES, make_context, outcome, settings

from pipeline import cli
from pipeline.drafters import make_drafter
from pipeline.images.views import materialize
from pipeline.manifest import endpoint_settings, parse_manifest

# cause -> (status, headers) of every request while the endpoint is down that way
HTTP_OUTAGES = {"server_error": (500, {}), "rate_limited": (429, {"Retry-After": "0.01"}), "client_error": (400, {})}
SOURCE = [{"name": "s", "kind": "folder", "location": "x", "licence": "l", "attribution": "a"}]


class FlakyServer(FakeOpenAIServer):
    """The fake model, with an outage the test switches on and off: while ``down`` names a failure
    cause, every request fails that way. ``fault:content_filter`` in a request is answered with
    finish_reason content_filter. Each logged request notes its model. ``port`` comes back on the
    port of a server that is gone."""

    def __init__(self, port: int = 0):
        super().__init__()
        self.down = None
        if port:
            self.httpd.server_close()
            self.httpd.socket = socket.socket(self.httpd.address_family, self.httpd.socket_type)
            self.httpd.server_address = ("127.0.0.1", port)
            self.httpd.server_bind()
            self.httpd.server_activate()

    def _note(self, body: dict, headers) -> dict:
        entry = super()._note(body, headers)
        entry["model"] = body["model"]
        return entry

    def respond(self, body: dict, entry: dict):
        if self.down == "connection_error":
            return None
        if self.down == "timeout":
            self.hold()   # answered only once the client has given up on it
        if self.down:
            status, headers = HTTP_OUTAGES.get(self.down, (500, {}))
            return status, headers, {"error": {"message": f"down: {self.down}", "type": "outage"}}
        if entry["fault"] == "content_filter":
            return 200, {}, completion(None, finish_reason="content_filter")
        return super().respond(body, entry)


@pytest.fixture(autouse=True)
def no_endpoint_environment(monkeypatch):
    """The tests set these themselves; none may leak in from the shell that runs them."""
    for name in ("OPENAI_BASE_URL", "OPENAI_MODEL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def flaky():
    with FlakyServer() as running:
        yield running


def drafter_for(base_url: str, cache, **overrides):
    """The openai drafter of a new build: a fresh endpoint client over the cache at ``cache``."""
    endpoint = types.SimpleNamespace(base_url=base_url)
    drafter = make_drafter(settings(endpoint, cache_location=str(cache), **overrides), seed=3)
    drafter.setup()
    return drafter


def stored(cache) -> list:
    return sorted(p for p in cache.rglob("*.json")) if cache.exists() else []


@pytest.mark.parametrize("cause, requests", [("server_error", 3), ("rate_limited", 3), ("timeout", 3),
                                             ("connection_error", 3), ("client_error", 1)])
def test_a_request_that_failed_for_good_stores_nothing_and_the_next_build_asks_again(tmp_path, flaky, cause, requests):
    cache, context = tmp_path / "cache", make_context(tmp_path, f"outage-{cause}", None)
    flaky.down = cause
    # max_retries 2: three tries of a transient failure; a client error that refuses no parameter
    # (this one's body says nothing) is not retried and changes nothing.
    # A request times out only when the server holds it until the client hangs up (after 1 s).
    patience = {"timeout": 1} if cause == "timeout" else {}
    assert outcome(drafter_for(flaky.base_url, cache, **patience), context) == cause
    assert len(flaky.log) == requests and stored(cache) == []
    if cause == "timeout":   # every try was held until the client gave up on it
        assert flaky.wait_for_abandoned(requests) and flaky.abandoned == requests
    else:
        assert flaky.abandoned == 0
    flaky.down = None
    assert outcome(drafter_for(flaky.base_url, cache), context) == "sample"
    assert len(flaky.log) == requests + 1 and len(stored(cache)) == 1
    again = drafter_for(flaky.base_url, cache)
    assert outcome(again, context) == "sample"
    stats = again.drain_stats()
    assert len(flaky.log) == requests + 1 and "calls" not in stats and stats["cache_hits"] == 1


def test_an_endpoint_refusing_connections_stores_nothing_and_is_asked_when_it_is_back(tmp_path):
    cache, context = tmp_path / "cache", make_context(tmp_path, "refused-connection", None)
    with FlakyServer() as gone:
        url, port = gone.base_url, gone.httpd.server_address[1]
    assert outcome(drafter_for(url, cache), context) == "connection_error"
    assert stored(cache) == []
    with FlakyServer(port=port) as back:
        assert back.base_url == url
        assert outcome(drafter_for(url, cache), context) == "sample"
        assert len(back.log) == 1 and len(stored(cache)) == 1


def test_drafts_refusals_and_content_filters_are_stored_and_only_a_truncated_reply_is_asked_again(tmp_path, flaky):
    cache = tmp_path / "cache"
    expected = {None: "sample", "refusal": "refused", "content_filter": "refused", "length": "truncated"}
    contexts = {fault: make_context(tmp_path, f"kept-{fault}", fault) for fault in expected}
    first = drafter_for(flaky.base_url, cache)
    assert {fault: outcome(first, c) for fault, c in contexts.items()} == expected
    # one request each, and the truncated reply's re-ask; a cut-off reply is no draft: not stored
    assert len(flaky.log) == 5 and len(stored(cache)) == 3 and first.drain_stats()["calls"] == 5
    rerun = drafter_for(flaky.base_url, cache)
    assert {fault: outcome(rerun, c) for fault, c in contexts.items()} == expected
    stats = rerun.drain_stats()
    assert len(flaky.log) == 5 + 2 and stats["calls"] == 2 and stats["cache_hits"] == 3


def test_two_endpoints_or_two_models_never_share_a_cached_reply(tmp_path):
    cache, context = tmp_path / "cache", make_context(tmp_path, "shared", None)
    with FlakyServer() as one, FlakyServer() as two:
        assert outcome(drafter_for(one.base_url, cache), context) == "sample"
        assert outcome(drafter_for(two.base_url, cache), context) == "sample"
        assert (len(one.log), len(two.log), len(stored(cache))) == (1, 1, 2)
        # The same endpoint written with a trailing slash is the same endpoint: a cache hit.
        assert outcome(drafter_for(one.base_url + "/", cache), context) == "sample"
        assert len(one.log) == 1
        other_model = drafter_for(one.base_url, cache, model="other-model")
        assert other_model.draft(context, materialize(context, 10 ** 8, 8)).model == "other-model"
        assert [r["model"] for r in one.log] == ["fake-model", "other-model"] and len(stored(cache)) == 3


def test_environment_fills_base_url_and_model_only_where_the_manifest_leaves_them_out(monkeypatch):
    def endpoint(given: dict, section: str = "drafter") -> dict:
        data = {"sources": SOURCE, "drafter": {"kind": "openai", "openai": given}, "difficulty": {"solver": given}}
        manifest = parse_manifest(data, ".")
        return manifest.drafter["openai"] if section == "drafter" else manifest.difficulty["solver"]

    def chosen(settings: dict) -> tuple:
        return settings["base_url"], settings["model"]

    assert chosen(endpoint({})) == ("https://api.openai.com/v1", "gpt-4o-mini")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://env.invalid/v1")
    monkeypatch.setenv("OPENAI_MODEL", "env-model")
    for section in ("drafter", "solver"):
        assert chosen(endpoint({}, section)) == ("http://env.invalid/v1", "env-model")
        assert chosen(endpoint({"model": "manifest-model"}, section)) == ("http://env.invalid/v1", "manifest-model")
        assert chosen(endpoint({"base_url": "http://manifest.invalid/v1", "model": "m"}, section)) == (
            "http://manifest.invalid/v1", "m")
    # a solver turned on from the command line alone starts from these settings
    assert chosen(endpoint_settings({})) == ("http://env.invalid/v1", "env-model")
    assert endpoint({})["timeout"] == 120 and endpoint({})["max_retries"] == 5  # other keys: schema defaults
    monkeypatch.setenv("OPENAI_BASE_URL", "")  # set but empty counts as unset
    assert chosen(endpoint({})) == ("https://api.openai.com/v1", "env-model")


def write_collection(tmp_path, groups: int, openai: dict) -> str:
    """``groups`` contexts of three photos for location_relationship, and a manifest whose
    drafter.openai section is ``openai`` plus fast retries and a cache outside every output."""
    folder, records = tmp_path / "photos", []
    for n in range(groups):
        for i, box in enumerate(BOXES):
            make_photo(folder / f"g{n}-{i}.jpg", seed=300 + 10 * n + i)
            records.append({"file": f"g{n}-{i}.jpg", "caption": f"Group {n} photo {i}.", "group": f"g{n}",
                            "regions": [region(f"thing {i}", box)]})
    write_sidecar(folder, records)
    settings = dict(openai, retry_base_delay=0.01, retry_max_delay=0.02, image_side=64, timeout=5,
                    cache_location=str(tmp_path / "cache"))
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(json.dumps({
        "name": "llm-cache", "seed": 5, "grouping": {"min_images": 3, "target_images": 3, "max_images": 3,
                                                     "test_fraction": 0},
        "sources": [{"name": "photos", "kind": "folder", "location": str(folder), "licence": "CC0-1.0",
                     "attribution": "tests", "tasks": ["location_relationship"]}],
        "drafter": {"kind": "openai", "openai": settings}}))
    return str(manifest)


def build(manifest: str, output, *flags) -> tuple:
    """(exit status, report) of ``mir build``; the report is None when none was published."""
    code = cli.main(["build", "--manifest", manifest, "--output", str(output), *flags])
    report = output / "report.json"
    return code, json.loads(report.read_text()) if report.exists() else None


def test_a_build_during_an_outage_caches_nothing_and_the_next_build_drafts(tmp_path, flaky):
    manifest = write_collection(tmp_path, groups=2, openai={"model": "fake-model", "max_retries": 1})
    flaky.down = "server_error"
    code, _ = build(manifest, tmp_path / "out1", "--llm-base-url", flaky.base_url)
    assert code in (0, 1)  # every draft failed: whether that fails the build is not this test's business
    assert len(flaky.log) == 2 * 2 and stored(tmp_path / "cache") == []
    flaky.down = None
    code, report = build(manifest, tmp_path / "out2", "--llm-base-url", flaky.base_url)
    assert code == 0 and report["samples"]["written"] == 2 and report["llm"]["calls"] == 2
    assert len(flaky.log) == 4 + 2 and len(stored(tmp_path / "cache")) == 2
    code, report = build(manifest, tmp_path / "out3", "--llm-base-url", flaky.base_url)
    assert code == 0 and report["samples"]["written"] == 2
    assert (report["llm"]["calls"], report["llm"]["cache_hits"], len(flaky.log)) == (0, 2, 6)


def test_build_takes_base_url_and_model_from_flag_then_manifest_then_environment(tmp_path, flaky, monkeypatch):
    with FlakyServer() as gone:
        dead = gone.base_url  # nothing listens here any more: a build sent there drafts nothing
    monkeypatch.setenv("OPENAI_MODEL", "env-model")
    monkeypatch.setenv("OPENAI_BASE_URL", flaky.base_url)
    silent = write_collection(tmp_path, groups=1, openai={})
    code, report = build(silent, tmp_path / "out1")
    assert (code, report["llm"]["model"], [r["model"] for r in flaky.log]) == (0, "env-model", ["env-model"])

    monkeypatch.setenv("OPENAI_BASE_URL", dead)
    given = write_collection(tmp_path, groups=1, openai={"base_url": flaky.base_url, "model": "manifest-model"})
    code, report = build(given, tmp_path / "out2")
    assert (code, report["llm"]["model"], flaky.log[-1]["model"], len(flaky.log)) == (0, "manifest-model",
                                                                                       "manifest-model", 2)

    overruled = write_collection(tmp_path, groups=1, openai={"base_url": dead, "model": "manifest-model"})
    code, report = build(overruled, tmp_path / "out3", "--llm-base-url", flaky.base_url, "--llm-model", "flag-model")
    assert (code, report["llm"]["model"], flaky.log[-1]["model"], len(flaky.log)) == (0, "flag-model",
                                                                                       "flag-model", 3)

"""The endpoint's key from a file (drafter.openai.api_key_file): how Dataflow workers get it
without the key travelling in the job's options. A whole build through the command line against
a loopback Chat Completions server, with the key in the environment too, to see which one wins."""
import pytest
from test_llm_cache import FlakyServer, build, write_collection

FILE_KEY = "sk-from-a-file-5b1e"


@pytest.fixture(autouse=True)
def endpoint_environment(monkeypatch):
    for name in ("OPENAI_BASE_URL", "OPENAI_MODEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-the-environment")


def test_the_key_file_is_sent_to_the_endpoint_and_written_nowhere(tmp_path):
    key_file = tmp_path / "secret" / "openai-key"
    key_file.parent.mkdir()
    key_file.write_text(FILE_KEY + "\n")
    manifest = write_collection(tmp_path, groups=2, openai={"model": "m", "api_key_file": str(key_file)})
    with FlakyServer() as server:
        code, report = build(manifest, tmp_path / "out", "--llm-base-url", server.base_url)
        assert code == 0 and report["samples"]["written"] == 2
        assert {r["authorization"] for r in server.log} == {f"Bearer {FILE_KEY}"}
    written = [p for folder in ("out", "cache") for p in (tmp_path / folder).rglob("*") if p.is_file()]
    assert written and not [p for p in written if FILE_KEY.encode() in p.read_bytes()]


def test_a_key_file_that_is_not_there_stops_the_build_before_it_starts(tmp_path, capsys):
    missing = tmp_path / "nowhere" / "openai-key"
    manifest = write_collection(tmp_path, groups=1, openai={"model": "m", "api_key_file": str(missing)})
    code, report = build(manifest, tmp_path / "out", "--llm-base-url", "http://127.0.0.1:9/v1")
    err = capsys.readouterr().err.strip().splitlines()
    assert (code, report) == (2, None) and not (tmp_path / "out").exists()
    assert err == [f"mir: drafter.openai.api_key_file: {missing} does not exist"]

"""The preflight (issue 26, must-have 5): before drafting, one request to the endpoint checks it
is reachable, takes the key, serves the model and has the context window a request needs; a wrong
one stops the build with one line saying what to change, and no context is drafted."""
import socket

import pytest
from conftest import make_photo, region, write_sidecar
from fake_openai_server import FakeOpenAIServer

from pipeline import cli
from pipeline.llm.preflight import PreflightFailed, check_endpoint, image_tokens, prompt_tokens
from pipeline.manifest import endpoint_settings

KEY = "sk-right-key-1234"


def _settings(server_url: str, **given) -> dict:
    return endpoint_settings({"base_url": server_url, "model": "fake-model", "timeout": 5, **given})


def test_image_tokens_are_patches_of_28_pixels():
    assert (image_tokens(768), image_tokens(448), image_tokens(28)) == (28 * 28, 16 * 16, 1)
    # 8,000 characters of text and six images at 768 px: 2,000 + 6 x 784.
    assert prompt_tokens(8000, 6, 768, vision=True) == 2000 + 6 * 784
    assert prompt_tokens(8000, 6, 768, vision=False) == 2000


def test_a_model_the_endpoint_does_not_serve_is_named_with_what_it_serves(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    with FakeOpenAIServer(models={"qwen2.5-vl-7b": None, "llava-1.6": None}) as server:
        with pytest.raises(PreflightFailed) as failed:
            check_endpoint(_settings(server.base_url), "drafter.openai", 8000, 6)
    assert str(failed.value) == (f"drafter.openai: {server.base_url} serves no model 'fake-model' (it serves: "
                                 "llava-1.6, qwen2.5-vl-7b): set model (--llm-model) to one of them")


def test_a_refused_key_says_where_the_key_comes_from(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong")
    with FakeOpenAIServer(models={"fake-model": None}, key=KEY) as server:
        with pytest.raises(PreflightFailed, match=r"refused the API key \(HTTP 401: Incorrect API key provided: "
                                                  r"sk-wr\*\*\*ng\.\): set OPENAI_API_KEY or api_key_file"):
            check_endpoint(_settings(server.base_url), "drafter.openai", 8000, 6)
        monkeypatch.setenv("OPENAI_API_KEY", KEY)
        check_endpoint(_settings(server.base_url), "drafter.openai", 8000, 6)   # the right key passes


def test_a_window_too_small_for_prompt_and_max_tokens_says_how_large_it_must_be(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    # A prompt of 8,000 characters and 8 images at 768 px: 2,000 + 8 x 784 = 8,272 tokens, plus 4,096.
    with FakeOpenAIServer(models={"fake-model": 8192}) as small, FakeOpenAIServer(models={"fake-model": 16384}) as big:
        with pytest.raises(PreflightFailed) as failed:
            check_endpoint(_settings(small.base_url), "drafter.openai", 8000, 8)
        check_endpoint(_settings(big.base_url), "drafter.openai", 8000, 8)
        # Smaller images and fewer completion tokens fit the small window: 2,000 + 8 x 256 + 2,048 = 6,096.
        check_endpoint(_settings(small.base_url, image_side=448, max_tokens=2048), "drafter.openai", 8000, 8)
    assert str(failed.value) == ("drafter.openai: model 'fake-model' has a context window of 8192 tokens, and a request "
                                 "needs about 8272 for its prompt (8 images at image_side 768) plus max_tokens 4096: "
                                 "serve it with a window of at least 12368 (vLLM --max-model-len, Ollama "
                                 "OLLAMA_CONTEXT_LENGTH), or lower max_tokens or image_side")


def test_a_window_the_server_does_not_report_is_checked_from_the_settings(monkeypatch):
    # As Ollama lists its models: no window. Running with a 4096-token window, it would cut the
    # prompt silently; told so in context_window, the preflight stops the build instead.
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    with FakeOpenAIServer(models={"fake-model": None}) as ollama:
        check_endpoint(_settings(ollama.base_url), "drafter.openai", 8000, 6)   # nothing known, nothing checked
        with pytest.raises(PreflightFailed, match=r"has a context window of 4096 tokens, and a request needs about "
                                                  r"6704 for its prompt"):
            check_endpoint(_settings(ollama.base_url, context_window=4096), "drafter.openai", 8000, 6)
        check_endpoint(_settings(ollama.base_url, context_window=16384), "drafter.openai", 8000, 6)


def test_a_server_without_a_model_list_is_not_held_up():
    with FakeOpenAIServer() as server:    # no GET /models: 404
        check_endpoint(_settings(server.base_url), "drafter.openai", 8000, 8)


def test_a_build_against_a_wrong_setting_stops_with_one_line_and_drafts_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    folder = tmp_path / "photos"
    records = []
    for i in range(3):
        make_photo(folder / f"p{i}.jpg", seed=i)
        records.append({"file": f"p{i}.jpg", "group": "g", "regions": [region(f"thing {i}", [0.1, 0.1, 0.6, 0.6])]})
    write_sidecar(folder, records)
    manifest = tmp_path / "m.yaml"
    manifest.write_text(f"sources: [{{name: p, kind: folder, location: {folder}, licence: l, attribution: a}}]\n"
                        "grouping: {min_images: 3, target_images: 3, max_images: 3}\n")
    with socket.socket() as spare:   # a port nothing listens on
        spare.bind(("127.0.0.1", 0))
        closed = spare.getsockname()[1]
    argv = ["build", "--manifest", str(manifest), "--output", str(tmp_path / "out"), "--drafter", "openai"]
    with FakeOpenAIServer(models={"other-model": None}) as server:
        assert cli.main([*argv, "--llm-base-url", server.base_url, "--llm-model", "fake-model"]) == 2
        assert not server.log   # no draft was asked for
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "serves no model 'fake-model' (it serves: other-model)" in error
    assert cli.main([*argv, "--llm-base-url", f"http://127.0.0.1:{closed}/v1", "--llm-model", "fake-model"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and f"cannot reach http://127.0.0.1:{closed}/v1" in error
    assert not (tmp_path / "out").exists()

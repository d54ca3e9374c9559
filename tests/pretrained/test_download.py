"""zoo.pretrained's download side against a loopback HTTP server (never the network): hash-checked downloads,
nothing left in the cache on failure, cache hits without requests, offline errors in under a second, the
source order of manifest entries, release mirrors, local sources, hf:// from a prepared Hugging Face cache,
and the command line."""

import hashlib
import http.server
import json
import os
import threading
import time

import pytest

import zoo
from zoo.pretrained import _cache
from zoo.pretrained.__main__ import main as cli

PAYLOAD = os.urandom(50_000)
SHA = hashlib.sha256(PAYLOAD).hexdigest()
OTHER_SHA = hashlib.sha256(b"something else").hexdigest()


class _Handler(http.server.BaseHTTPRequestHandler):
    routes = {}   # path -> "ok" | "truncate" | "404" | ("redirect", target)
    counts = {}

    def do_GET(self):  # noqa: N802 - http.server's name
        type(self).counts[self.path] = type(self).counts.get(self.path, 0) + 1
        route = type(self).routes.get(self.path, "404")
        if route == "ok":
            self.send_response(200)
            self.send_header("Content-Length", str(len(PAYLOAD)))
            self.end_headers()
            self.wfile.write(PAYLOAD)
        elif route == "truncate":  # promise the whole file, send half, hang up
            self.send_response(200)
            self.send_header("Content-Length", str(len(PAYLOAD)))
            self.end_headers()
            self.wfile.write(PAYLOAD[: len(PAYLOAD) // 2])
            self.wfile.flush()
            self.close_connection = True
        elif isinstance(route, tuple):
            self.send_response(302)
            self.send_header("Location", route[1])
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self.send_error(404, "Not Found")

    def log_message(self, *args):
        pass


@pytest.fixture
def server(monkeypatch):
    _Handler.routes = {"/good/model.keras": "ok", "/cut/model.keras": "truncate", "/mirror/m1/model.keras": "ok",
                       "/moved": ("redirect", "/good/model.keras")}
    _Handler.counts = {}
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    for var in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(var, "127.0.0.1,localhost")
    for var in ("ZOO_OFFLINE", "HF_HUB_OFFLINE", "ZOO_WEIGHTS_URL", "ZOO_WEIGHTS_CACHE"):
        monkeypatch.delenv(var, raising=False)
    yield f"http://127.0.0.1:{httpd.server_address[1]}", _Handler.counts
    httpd.shutdown()
    httpd.server_close()


def _files(root):
    return sorted(os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs)


def _manifest(tmp_path, sources, name="m1", sha=SHA, base_urls=()):
    entry = {"name": name, "task": "image_classification", "dataset": "digits", "backbone": "lenet", "head": "softmax",
             "geometry": "euclidean", "embedding_dim": 8, "input": {"shape": [28, 28]}, "metrics": {},
             "file": "model.keras", "size": len(PAYLOAD), "sha256": sha, "sources": list(sources),
             "command": "python -m recipes.classification", "commit": "0" * 40}
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({"schema": 1, "base_urls": list(base_urls), "models": {name: entry}}))
    return str(path)


# -- bare URLs ------------------------------------------------------------------------------------------------
def test_url_download_is_verified_and_cached(server, tmp_path):
    url, counts = server
    cache = tmp_path / "cache"
    file = zoo.pretrained.path(f"{url}/good/model.keras", sha256=SHA, cache_dir=cache)
    assert open(file, "rb").read() == PAYLOAD
    assert file.startswith(str(cache)) and counts["/good/model.keras"] == 1
    assert zoo.pretrained.path(f"{url}/good/model.keras", sha256=f"sha256:{SHA}", cache_dir=cache) == file
    assert counts["/good/model.keras"] == 1  # the second call is a cache hit: no request
    assert zoo.pretrained.path(f"{url}/moved", sha256=SHA, cache_dir=tmp_path / "c2").endswith("moved")  # redirect


def test_wrong_hash_leaves_nothing(server, tmp_path):
    url, _ = server
    cache = tmp_path / "cache"
    with pytest.raises(zoo.pretrained.WeightsUnavailableError, match=f"{url}/good/model.keras"):
        zoo.pretrained.path(f"{url}/good/model.keras", sha256=OTHER_SHA, cache_dir=cache)
    assert _files(cache) == []


def test_truncated_download_leaves_nothing(server, tmp_path):
    url, _ = server
    cache = tmp_path / "cache"
    with pytest.raises(zoo.pretrained.WeightsUnavailableError, match="cut/model.keras"):
        zoo.pretrained.path(f"{url}/cut/model.keras", sha256=SHA, cache_dir=cache)
    assert _files(cache) == []


def test_404_names_the_url(server, tmp_path):
    url, _ = server
    with pytest.raises(zoo.pretrained.WeightsUnavailableError, match=rf"{url}/nowhere/model.keras.*404"):
        zoo.pretrained.path(f"{url}/nowhere/model.keras", sha256=SHA, cache_dir=tmp_path)
    assert _files(tmp_path) == []


def test_remote_source_needs_a_hash(server, tmp_path):
    with pytest.raises(ValueError, match="sha256"):
        zoo.pretrained.path(f"{server[0]}/good/model.keras", cache_dir=tmp_path)
    with pytest.raises(ValueError, match="64 hex digits"):
        zoo.pretrained.path(f"{server[0]}/good/model.keras", sha256="abc", cache_dir=tmp_path)


# -- published names ------------------------------------------------------------------------------------------
def test_name_downloads_once_then_hits_the_cache(server, tmp_path):
    url, counts = server
    manifest = _manifest(tmp_path, ["file:weights/m1/not-there.keras", f"{url}/good/model.keras"])
    cache = tmp_path / "cache"
    file = zoo.pretrained.path("m1", cache_dir=cache, manifest=manifest)
    assert file == str(cache / "m1" / SHA[:16] / "model.keras")
    assert zoo.pretrained.path("m1", cache_dir=cache, manifest=manifest) == file
    assert counts == {"/good/model.keras": 1}
    with open(file, "r+b") as f:  # a cached file whose hash no longer matches is fetched again
        f.write(b"corrupt")
    assert open(zoo.pretrained.path("m1", cache_dir=cache, manifest=manifest), "rb").read() == PAYLOAD
    assert counts == {"/good/model.keras": 2}


def test_sources_are_tried_in_order_and_all_failures_listed(server, tmp_path):
    url, counts = server
    manifest = _manifest(tmp_path, [f"{url}/nowhere/model.keras", f"{url}/good/model.keras"])
    zoo.pretrained.path("m1", cache_dir=tmp_path / "a", manifest=manifest)
    assert counts == {"/nowhere/model.keras": 1, "/good/model.keras": 1}
    manifest = _manifest(tmp_path, [f"{url}/nowhere/model.keras", f"{url}/cut/model.keras"])
    with pytest.raises(zoo.pretrained.WeightsUnavailableError) as err:
        zoo.pretrained.path("m1", cache_dir=tmp_path / "b", manifest=manifest)
    text = str(err.value)
    assert "nowhere/model.keras: HTTP 404" in text and "cut/model.keras" in text and "fetch m1 DIR" in text
    assert _files(tmp_path / "b") == []


def test_release_mirror_from_the_environment(server, tmp_path, monkeypatch):
    url, counts = server
    manifest = _manifest(tmp_path, [])
    monkeypatch.setenv("ZOO_WEIGHTS_URL", f"{url}/mirror")
    assert open(zoo.pretrained.path("m1", cache_dir=tmp_path / "c", manifest=manifest), "rb").read() == PAYLOAD
    assert counts == {"/mirror/m1/model.keras": 1}


def test_offline_with_empty_cache_fails_fast_without_requests(server, tmp_path, monkeypatch):
    url, counts = server
    manifest = _manifest(tmp_path, [f"{url}/good/model.keras"])
    for offline, env in ((True, None), (None, "ZOO_OFFLINE"), (None, "HF_HUB_OFFLINE")):
        if env:
            monkeypatch.setenv(env, "1")
        start = time.perf_counter()
        with pytest.raises(zoo.pretrained.WeightsUnavailableError) as err:
            zoo.pretrained.load("m1", cache_dir=tmp_path / "cache", offline=offline, manifest=manifest)
        assert time.perf_counter() - start < 1.0
        text = str(err.value)
        assert "'m1'" in text and "offline" in text and f"{url}/good/model.keras" in text
        assert "python -m zoo.pretrained fetch m1 DIR" in text and SHA in text
        if env:
            monkeypatch.delenv(env)
    assert counts == {}


def test_unreachable_host_fails_fast(tmp_path, monkeypatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    manifest = _manifest(tmp_path, ["http://127.0.0.1:9/m1/model.keras"])  # discard port: connection refused
    start = time.perf_counter()
    with pytest.raises(zoo.pretrained.WeightsUnavailableError, match="127.0.0.1:9"):
        zoo.pretrained.path("m1", cache_dir=tmp_path / "cache", manifest=manifest, offline=False)
    assert time.perf_counter() - start < 1.0


def test_unknown_name_suggests_close_ones(tmp_path):
    manifest = _manifest(tmp_path, [])
    with pytest.raises(ValueError, match="Did you mean 'm1'"):
        zoo.pretrained.path("m2", manifest=manifest)
    with pytest.raises(ValueError, match="unknown task"):
        zoo.pretrained.list_weights(task="segmentation")


# -- local sources ----------------------------------------------------------------------------------------------
def test_local_file_directory_and_file_url(tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    file = folder / "model.keras"
    file.write_bytes(PAYLOAD)
    assert zoo.pretrained.path(str(file), sha256=SHA) == str(file)
    assert zoo.pretrained.path(folder, sha256=SHA) == str(file)
    assert zoo.pretrained.path(f"file://{file}", sha256=SHA) == str(file)
    with pytest.raises(zoo.pretrained.WeightsUnavailableError, match="does not match"):
        zoo.pretrained.path(str(file), sha256=OTHER_SHA)
    with pytest.raises(FileNotFoundError, match="no such file"):
        zoo.pretrained.path(str(tmp_path / "missing.keras"))


def test_local_source_of_an_entry_needs_no_cache(tmp_path):
    """A read-only machine: a checkout's weights/ file is used in place, no cache folder is created."""
    file = tmp_path / "w" / "model.keras"
    file.parent.mkdir()
    file.write_bytes(PAYLOAD)
    manifest = _manifest(tmp_path, [f"file://{file}"])
    cache = tmp_path / "no-cache"
    assert zoo.pretrained.path("m1", cache_dir=cache, offline=True, manifest=manifest) == str(file)
    assert not cache.exists()
    file.write_bytes(PAYLOAD[:-1] + b"x")  # the checkout's file changed: refused, not trusted
    with pytest.raises(zoo.pretrained.WeightsUnavailableError, match="does not match"):
        zoo.pretrained.path("m1", cache_dir=cache, offline=True, manifest=manifest)


# -- hf:// without network ------------------------------------------------------------------------------------
def test_hf_source_from_a_prepared_cache(tmp_path, monkeypatch):
    pytest.importorskip("huggingface_hub", reason="hf:// sources need huggingface_hub (optional extra [hf])")
    commit = "a" * 40
    repo = tmp_path / "hub" / "models--zoo-org--zoo-weights"
    file = repo / "snapshots" / commit / "m1" / "model.keras"
    file.parent.mkdir(parents=True)
    file.write_bytes(PAYLOAD)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    source = f"hf://zoo-org/zoo-weights@{commit}/m1/model.keras"
    assert zoo.pretrained.path(source, sha256=SHA, offline=False) == str(file)  # pinned commit: no request
    assert zoo.pretrained.path("hf://zoo-org/zoo-weights/m1/model.keras", sha256=SHA, offline=True) == str(file)
    with pytest.raises(ValueError, match="does not match"):
        zoo.pretrained.path(source, sha256=OTHER_SHA, offline=True)
    with pytest.raises(zoo.pretrained.WeightsUnavailableError, match="zoo-weights"):
        zoo.pretrained.path("hf://zoo-org/zoo-weights@main/m1/other.keras", sha256=SHA, offline=True)
    manifest = _manifest(tmp_path, [source])  # an entry whose only source is the Hub, offline: the HF cache
    assert zoo.pretrained.path("m1", cache_dir=tmp_path / "c", offline=True, manifest=manifest) == str(file)


# -- the command line -------------------------------------------------------------------------------------------
def test_cli_hash_fetch_and_errors(server, tmp_path, capsys, monkeypatch):
    url, counts = server
    file = tmp_path / "x.keras"
    file.write_bytes(PAYLOAD)
    assert cli(["hash", str(file)]) == 0
    assert capsys.readouterr().out.startswith(f"{SHA}  {len(PAYLOAD)}")
    assert cli(["path", f"{url}/good/model.keras", "--sha256", SHA, "--cache-dir", str(tmp_path / "c")]) == 0
    assert cli(["path", "no_such_model"]) == 1
    assert "no published model" in capsys.readouterr().err
    monkeypatch.setattr(_cache, "default_cache_dir", lambda: str(tmp_path / "default"))
    monkeypatch.setattr(_cache, "fallback_cache_dir", lambda: str(tmp_path / "fallback"))
    manifest = _manifest(tmp_path, [f"{url}/good/model.keras"])
    copied = zoo.pretrained.fetch("m1", tmp_path / "airgap", manifest=manifest)
    assert copied == [str(tmp_path / "airgap" / "m1" / SHA[:16] / "model.keras")]
    before = dict(counts)
    assert zoo.pretrained.path("m1", cache_dir=tmp_path / "airgap", offline=True, manifest=manifest) == copied[0]
    assert counts == before


def test_cli_list_and_info_work_offline(capsys, monkeypatch):
    monkeypatch.setenv("ZOO_OFFLINE", "1")
    assert cli(["list"]) == 0
    out = capsys.readouterr().out
    names = [e["name"] for e in zoo.pretrained.list_weights()]
    assert out.startswith("name") and all(name in out for name in names)
    assert cli(["list", "--task", "few_shot", "--json"]) == 0
    assert {e["task"] for e in json.loads(capsys.readouterr().out)} <= {"few_shot"}
    if names:
        assert cli(["info", names[0]]) == 0
        assert json.loads(capsys.readouterr().out)["name"] == names[0]


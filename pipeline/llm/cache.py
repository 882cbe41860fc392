"""A content-addressed store of LLM responses on any Beam FileSystems path.

The key hashes everything that decides a response (the endpoint's base URL, model, parameters,
messages with images named by their hashes), so a rerun, or a build resumed after a crash, finds
every response it already paid for, and two endpoints never share one. Each response is written
the moment it arrives; only responses are stored (``ChatEndpoint`` stores no failed request).
"""
import hashlib
import json

from apache_beam.io.filesystems import FileSystems

from ..storage import read_bytes, write_bytes


def cache_key(request: dict) -> str:
    blob = json.dumps(request, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class ResponseCache:
    def __init__(self, location: str):
        self.location = location

    def _path(self, key: str) -> str:
        return FileSystems.join(self.location, key[:2], f"{key}.json")

    def get(self, key: str):
        """The stored response, or None; a file cut short by a crash counts as absent."""
        path = self._path(key)
        if not FileSystems.exists(path):
            return None
        try:
            return json.loads(read_bytes(path))
        except ValueError:
            return None

    def put(self, key: str, response: dict) -> None:
        write_bytes(self._path(key), json.dumps(response, sort_keys=True).encode("utf-8"))

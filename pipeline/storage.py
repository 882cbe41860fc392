"""Whole-file reads and writes through Beam's FileSystems, so every path may be local, gs:// or
any scheme Beam knows. Nothing in the package opens a local file for the build any other way."""
from apache_beam.io.filesystems import FileSystems


def read_bytes(uri: str) -> bytes:
    with FileSystems.open(uri, compression_type="uncompressed") as f:
        return f.read()


def write_bytes(path: str, data: bytes) -> None:
    """Write a whole file; FileSystems creates the parent folders on local disk."""
    with FileSystems.create(path, mime_type="application/octet-stream", compression_type="uncompressed") as f:
        f.write(data)


def write_text(path: str, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))

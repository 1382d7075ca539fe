"""The framed stdio protocol, both directions: a frame is a 4-byte little-endian header length, a UTF-8 JSON
header, then the raw little-endian bytes of the arrays the header lists under "arrays" ([{name, dtype, shape}],
in order). No torch here, so the server can report a failed `import torch` as a frame."""

import json
import os
import struct

DTYPES = {"f32": 4, "f64": 8, "i32": 4, "u8": 1}


class FdWriter:
    """Writes to a file descriptor with os.write, looping on short writes (a pipe takes what fits in its buffer;
    a raw write may return early). The engine's frames go through one of these on a private duplicate of fd 1,
    so native code writing to fd 1 (pointed at stderr) cannot interleave with them. `write` is os.write's
    signature; tests pass one that takes a few bytes at a time."""

    def __init__(self, fd, write=os.write):
        self.fd = fd
        self._write = write

    def write(self, data):
        view = memoryview(data).cast("B")
        while len(view):
            n = self._write(self.fd, view)
            view = view[n:]

    def flush(self):
        pass  # unbuffered: every write has reached the descriptor when it returns


class Closed(Exception):
    """The other side closed the stream (EOF): the process ends quietly."""


def _read_exact(stream, n):
    chunks = []
    while n > 0:
        b = stream.read(n)
        if not b:
            raise Closed()
        chunks.append(b)
        n -= len(b)
    return b"".join(chunks)


def nbytes(dtype, shape):
    count = 1
    for s in shape:
        count *= s
    return count * DTYPES[dtype]


def read_frame(stream):
    """-> (header dict, {name: (dtype, shape, bytes)})."""
    (length,) = struct.unpack("<I", _read_exact(stream, 4))
    header = json.loads(_read_exact(stream, length).decode("utf-8"))
    arrays = {}
    for a in header.get("arrays", []):
        arrays[a["name"]] = (a["dtype"], a["shape"], _read_exact(stream, nbytes(a["dtype"], a["shape"])))
    return header, arrays


def write_frame(stream, header, arrays=()):
    """arrays: [(name, dtype, shape, bytes-like)]."""
    header = dict(header)
    header["arrays"] = [{"name": n, "dtype": d, "shape": list(s)} for n, d, s, _ in arrays]
    body = json.dumps(header, separators=(",", ":")).encode("utf-8")
    stream.write(struct.pack("<I", len(body)))
    stream.write(body)
    for _, d, s, data in arrays:
        if len(data) != nbytes(d, s):
            raise ValueError(f"array of {d}{list(s)} has {len(data)} bytes")
        stream.write(data)
    stream.flush()

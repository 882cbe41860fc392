"""Images: pure functions on image bytes and pixels, no Beam.

``decode`` opens untrusted bytes safely (format, size and bomb checks before any pixel is
decoded, EXIF orientation, every mode normalised); ``phash`` reduces an image to the perceptual
hashes dedup compares; ``near_duplicates`` finds and clusters close hashes; ``derive`` makes
the views the pipeline derives (crops, zooms, blurs) and encodes them; ``views`` re-reads a
context's images and derives a context's views. May import ``sources`` (to re-read an image)
and the foundation modules (``records``); never stages, drafters or output.
"""
import ctypes
import ctypes.util

import cv2
import threadpoolctl

# The heavy stages already run one element per thread and a thread per core (stages/parallel.py);
# OpenCV's and BLAS's own thread pools on top would oversubscribe. The pHash matrix products are
# small: OpenBLAS's threads cost a 2,000-image build more CPU than the products themselves, and
# both build_bench passes a second of wall time.
cv2.setNumThreads(1)
threadpoolctl.threadpool_limits(1, user_api="blas")

# glibc serves a large buffer from a mapping of its own only above a threshold that it raises
# (up to 32 MB) each time such a buffer is freed; after the first Parquet row group (tens of MB)
# those buffers came from the heap, whose freed pieces it keeps, and a build's resident memory grew
# with the collection. A fixed 4 MB threshold keeps row groups and Arrow tables in mappings
# returned when freed, and decoded images (a few MB at most) in the heap: mapping and unmapping
# those for every image cost more system time than the threads gained (cores_bench.py,
# benchmarks/README.md).
# With the threshold fixed, glibc also stops raising the amount of free memory a heap keeps at
# its top (128 kB): every decoded image and pixel array (1-3 MB) then went back to the system
# when freed and came back as fresh pages the kernel had to clear, on every image of every stage.
# A heap now keeps up to 32 MB at its top, which they reuse. At most two heaps (arenas) per
# process: glibc's default (eight per core) let each worker process of a large build keep freed
# image and row-group memory in heaps of several threads (Beam's and gRPC's among them): a
# 5,000-photo build's processes peaked at 1.84 GB together, 1.68-1.76 GB with two.
M_MMAP_THRESHOLD, M_TRIM_THRESHOLD, M_ARENA_MAX = -3, -1, -8
LARGE_BUFFER = 4 * 1024 * 1024
KEPT_AT_TOP = 32 * 1024 * 1024
ARENAS = 2
try:
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    libc.mallopt(M_MMAP_THRESHOLD, LARGE_BUFFER)
    libc.mallopt(M_TRIM_THRESHOLD, KEPT_AT_TOP)
    libc.mallopt(M_ARENA_MAX, ARENAS)
except (OSError, AttributeError, TypeError):  # not glibc: its allocator has its own policy
    pass

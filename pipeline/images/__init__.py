"""Images: pure functions on image bytes and pixels, no Beam.

``decode`` opens untrusted bytes safely (format, size and bomb checks before any pixel is
decoded, EXIF orientation, every mode normalised); ``phash`` reduces an image to the perceptual
hashes dedup compares; ``near_duplicates`` finds and clusters close hashes; ``derive`` makes
the views the pipeline derives (crops, zooms, blurs) and encodes them; ``views`` re-reads a
context's images and derives a context's views. May import ``sources`` (to re-read an image)
and the foundation modules (``records``); never stages, drafters or output.
"""
import cv2
import threadpoolctl

# Beam already runs one element per core; OpenCV's and BLAS's own thread pools on top would
# oversubscribe. The pHash matrix products are small: OpenBLAS's threads cost a 2,000-image
# build more CPU than the products themselves, and both build_bench passes a second of wall time.
cv2.setNumThreads(1)
threadpoolctl.threadpool_limits(1, user_api="blas")

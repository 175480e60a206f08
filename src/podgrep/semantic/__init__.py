"""Search by meaning: sentence embeddings, passages with vectors, rank fusion with BM25."""

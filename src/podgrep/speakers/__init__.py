"""Who said it: speaker turns (voice embeddings, clustering, word-level turns) and names."""

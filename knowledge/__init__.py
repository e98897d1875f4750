"""Documents: loading, chunking, embedding, the Chroma store, sync and retrieval. Knows no chat."""

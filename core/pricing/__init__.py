"""BSM and Black-76 kernels, and the book flattened to vectorized leg arrays."""

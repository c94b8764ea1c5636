"""The vocabulary: immutable inputs (book, market, what-if), instruments, result objects, InputError."""

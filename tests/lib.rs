//! Atlas's integration tests live in `it/` as one test binary; this library is empty.

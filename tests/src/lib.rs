//! End-to-end tests of the `spillway` binary live in `tests/tests/`.

//! Test support shared by the crate's unit tests and the integration tests in `tests/`.
//! Not part of KotaDB's interface (hidden from the docs); nothing in the service uses it.

pub mod postgres;

//! What the work is: reading git, parsing code, building and searching the index.
//!
//! Architecture invariant: nothing in `engine` knows about HTTP, actors or a database;
//! it takes bytes and paths and returns values, so each part is tested alone.

pub mod deps;
pub mod git;
pub mod lang;
pub mod model;
pub mod parse;
pub mod search;
pub mod segment;
pub mod snapshot;
pub mod text;
pub mod trigram;
pub mod url_policy;

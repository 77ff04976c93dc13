//! `tessera migrate`: copies every record from one store to another.

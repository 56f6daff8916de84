//! Identity verification: written by the identity work.

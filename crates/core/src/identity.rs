//! Identity documents: written by the identity work.

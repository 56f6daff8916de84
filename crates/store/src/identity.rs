//! Identity (KYC) records: written by the identity work.

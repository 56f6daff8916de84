//! Assets and exact amounts.

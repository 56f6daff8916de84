//! The asset ledger and the asset-source port.

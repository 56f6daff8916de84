//! HTTP tests against the real application on both databases (one test binary).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed unwrap is a failed test

mod helpers;

mod accounts;
mod alerts;
mod compliance;
mod console;
mod contact;
mod deletion;
mod deletion_pages;
mod detour_pages;
mod edge;
mod events;
mod factors;
mod freeze;
mod identity;
mod ledger;
mod openapi;
mod overload;
mod pages;
mod passkey_device;
mod passkeys;
mod platform;
mod races;
mod recovery;
mod security_pages;
mod slow_clients;
mod smtp;
mod storage;
mod support;
mod timing;

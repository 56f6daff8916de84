//! The domain of offboard: validated types, the rules of PRODUCT.md and the policies
//! that decide them. No HTTP, no SQL and no clock reads: time always arrives as a
//! parameter (see [`clock`]), so every rule can be unit-tested at any instant.

pub mod actor;
pub mod captcha;
pub mod clock;
pub mod crypto;
pub mod deletion;
pub mod email;
pub mod events;
pub mod identity;
pub mod ids;
pub mod money;
pub mod otp;
pub mod passkey;
pub mod password;
pub mod phone;
pub mod session;
pub mod support;
pub mod throttle;
pub mod totp;

pub use clock::{Clock, DevClock, SystemClock};
pub use email::{EmailAddress, EmailPolicy};
pub use ids::AccountId;
pub use otp::{Channel, OtpCode, Purpose};
pub use password::{Password, PasswordError, PasswordHasher};
pub use phone::PhoneNumber;

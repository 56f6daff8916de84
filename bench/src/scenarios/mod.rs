//! The load scenarios, each a set of virtual users (tokio tasks) with a deadline.
//! Closed-loop scenarios (sign-up, login, `/me`, journeys, erasures) send the next
//! request as soon as the previous one answers; the journey steps and the login storm are
//! paced (open model) at a fixed request rate and measure each latency from the
//! request's scheduled time.
//!
//! One module per kind: `load` (sign-up, login, `/me`, refused sign-ups, untimed top-up),
//! `interleave` (sign-ups and logins in rounds with the argon2id bound), `storm` (logins
//! offered beyond the bound, `/me` beside them), `steps` (the paced deletion steps),
//! `erasure` (the final step alone) and `journey` (the complete journey, walked by
//! `offboard-client`'s `journey::complete`); `vus` runs virtual users, paces them and
//! folds their figures into a [`vus::ScenarioReport`].

mod erasure;
mod interleave;
mod journey;
mod load;
mod steps;
mod storm;
mod vus;

pub use erasure::{erasures, prepare_erasures, ErasureReport};
pub use interleave::{logins, signups, Interleaved, Rounds};
pub use journey::{journey, JourneyReport};
pub use load::{login, me, refused_signups, signup, top_up, MeLevel};
pub use steps::{prepare_steps, steps, Prepared, StepsReport};
pub use storm::{storm, StormPlan, StormReport};
pub use vus::{Account, ScenarioReport};

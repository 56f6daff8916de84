//! The load scenarios, each a set of virtual users (tokio tasks) with a deadline.
//! Closed-loop scenarios (sign-up, login, `/me`, journeys) send the next request as soon
//! as the previous one answers; the journey-steps scenario is paced (open model) at a
//! fixed request rate and measures each latency from the request's scheduled time.
//!
//! One module per kind: `load` (sign-up, login, `/me`, refused sign-ups, untimed top-up),
//! `steps` (the paced deletion steps) and `journey` (the complete journey, walked by
//! `offboard-client`'s `journey::complete`); `vus` runs virtual users and folds their
//! figures into a [`vus::ScenarioReport`].

mod journey;
mod load;
mod steps;
mod vus;

pub use journey::{journey, JourneyReport};
pub use load::{login, me, refused_signups, signup, top_up, MeLevel};
pub use steps::{prepare_steps, steps, StepsReport};
pub use vus::{Account, ScenarioReport};

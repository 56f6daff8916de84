//! The application's counters, in the process-wide `metrics` recorder that the server
//! exposes at `GET /metrics` (the recorder and the HTTP figures live at the edge).

/// A deletion flow moved to `step`.
pub fn step_transition(step: &'static str) {
    metrics::counter!("offboard_deletion_step_transitions_total", "to" => step).increment(1);
}

/// A verification code went out.
pub fn code_sent(channel: &'static str) {
    metrics::counter!("offboard_codes_sent_total", "channel" => channel).increment(1);
}

/// A job ended an attempt: `done`, `retry` or `dead`.
pub fn job_outcome(kind: &'static str, outcome: &'static str) {
    metrics::counter!("offboard_jobs_total", "kind" => kind, "outcome" => outcome).increment(1);
}

/// A security alert could not be queued (R21): operators should see it.
pub fn alert_lost(alert: &'static str) {
    metrics::counter!("offboard_alerts_lost_total", "alert" => alert).increment(1);
}

/// A password hash or check was refused because the hashing queue was full (a 503).
pub fn password_queue_refused() {
    metrics::counter!("offboard_password_queue_refused_total").increment(1);
}

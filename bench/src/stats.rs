//! Latency histograms (HdrHistogram, microseconds) and their summaries.

use hdrhistogram::Histogram;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// Latencies of one kind of request, in microseconds (1 µs to 10 min, 3 significant digits).
/// `None` only if HdrHistogram refused the (constant, valid) bounds.
#[derive(Clone)]
pub struct Latencies(Option<Histogram<u64>>);

impl Default for Latencies {
    fn default() -> Self {
        Self::new()
    }
}

impl Latencies {
    pub fn new() -> Self {
        Self(Histogram::new_with_bounds(1, 600_000_000, 3).ok())
    }

    pub fn record(&mut self, latency: Duration) {
        let micros = u64::try_from(latency.as_micros())
            .unwrap_or(u64::MAX)
            .max(1);
        if let Some(h) = &mut self.0 {
            h.saturating_record(micros);
        }
    }

    pub fn merge(&mut self, other: &Latencies) {
        // Same bounds on both sides; a failed add only loses that histogram's samples.
        if let (Some(h), Some(o)) = (&mut self.0, &other.0) {
            let _ = h.add(o);
        }
    }

    pub fn count(&self) -> u64 {
        self.0.as_ref().map_or(0, |h| h.len())
    }

    fn ms(&self, quantile: f64) -> f64 {
        let micros = self.0.as_ref().map_or(0, |h| h.value_at_quantile(quantile));
        round3(micros as f64 / 1000.0)
    }

    pub fn summary(&self, elapsed: Duration) -> Summary {
        let secs = elapsed.as_secs_f64().max(1e-9);
        Summary {
            count: self.count(),
            per_s: round1(self.count() as f64 / secs),
            mean_ms: round3(self.0.as_ref().map_or(0.0, |h| h.mean()) / 1000.0),
            p50_ms: self.ms(0.50),
            p90_ms: self.ms(0.90),
            p99_ms: self.ms(0.99),
            max_ms: round3(self.0.as_ref().map_or(0, |h| h.max()) as f64 / 1000.0),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub count: u64,
    pub per_s: f64,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// Histograms by request name (journey step, endpoint).
#[derive(Clone, Default)]
pub struct ByName(pub BTreeMap<&'static str, Latencies>);

impl ByName {
    pub fn record(&mut self, name: &'static str, latency: Duration) {
        self.0.entry(name).or_default().record(latency);
    }

    pub fn merge(&mut self, other: &ByName) {
        for (name, h) in &other.0 {
            self.0.entry(name).or_default().merge(h);
        }
    }

    pub fn summaries(&self, elapsed: Duration) -> BTreeMap<String, Summary> {
        self.0
            .iter()
            .map(|(name, h)| ((*name).to_owned(), h.summary(elapsed)))
            .collect()
    }
}

/// The median (the mean of the two middle values for an even count; 0 for none).
pub fn median(xs: &[f64]) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

pub fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

pub fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_even_and_none() {
        assert_eq!(median(&[0.9, 0.7, 0.8]), 0.8);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(&[]), 0.0);
    }
}

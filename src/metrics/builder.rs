//! [`RegistryBuilder`]: the settings of a [`Registry`], validated once.

use super::registry::{Registry, MAX_SERIES_LIMIT};
use crate::error::{ConfigError, Problem, ProblemKind, Problems};

/// Builds a [`Registry`]: latency buckets, the label of unmatched requests, the size of the
/// series table (and, with the `metrics-facade` feature, whether to feed the facade).
#[derive(Clone, Debug)]
#[must_use]
pub struct RegistryBuilder {
    pub(super) buckets: Vec<f64>,
    pub(super) unmatched: String,
    pub(super) max_series: usize,
    pub(super) facade: bool,
}

impl RegistryBuilder {
    /// The upper bounds of the latency buckets, in seconds: finite, positive, increasing.
    /// `+Inf` is always added.
    ///
    /// Default: [`DEFAULT_BUCKETS`](super::DEFAULT_BUCKETS). Calling it again replaces the list.
    pub fn buckets(mut self, seconds: impl IntoIterator<Item = f64>) -> Self {
        self.buckets = seconds.into_iter().collect();
        self
    }

    /// The most series the registry holds, between 1 and [`MAX_SERIES_LIMIT`] (clamped).
    /// Requests of a new label set beyond it are not recorded but counted in
    /// `gateway_metrics_series_overflow_total` (when threads race to create the last series,
    /// a request of a label set being created by another thread may be counted there too).
    ///
    /// The tables are allocated once: this many slots of 144 bytes (a line, a tail line for
    /// longer label sets, a pointer to the series), an index of twice this many entries,
    /// rounded up to a power of two, of 4 bytes, and the layer's cache of series by route,
    /// as many entries of 8 bytes (672 KiB for the default); each live series adds about 400
    /// bytes (its label strings and text, the counters of the slower buckets).
    ///
    /// Default: [`DEFAULT_MAX_SERIES`](super::DEFAULT_MAX_SERIES).
    pub fn max_series(mut self, max: usize) -> Self {
        self.max_series = max.clamp(1, MAX_SERIES_LIMIT);
        self
    }

    /// The `route` label of requests no route matched.
    ///
    /// Default: `""`.
    pub fn unmatched_label(mut self, label: impl Into<String>) -> Self {
        self.unmatched = label.into();
        self
    }

    /// Whether the same facts also go to the [`metrics`](https://docs.rs/metrics) facade:
    /// the same names and labels as the exposition, through the recorder installed when the
    /// registry is built (global metrics) and when each series is created (its handles, kept
    /// in the series, so a request only increments existing handles). See the
    /// [module docs](super#the-metrics-facade).
    ///
    /// Default: `false`.
    #[cfg(feature = "metrics-facade")]
    #[cfg_attr(docsrs, doc(cfg(feature = "metrics-facade")))]
    pub fn facade(mut self, on: bool) -> Self {
        self.facade = on;
        self
    }

    /// The registry.
    ///
    /// # Errors
    ///
    /// Every problem with the buckets, each located at `buckets` or `buckets[i]`: none at all,
    /// a bound that is not a finite positive number, a bound not above the one before.
    pub fn build(self) -> Result<Registry, ConfigError> {
        let mut problems = Problems::new();
        check_buckets(&self.buckets, &mut problems);
        problems.finish(|| self.registry())
    }
}

/// Every problem with a list of bucket bounds, located at `buckets` or `buckets[i]`.
pub(super) fn check_buckets(buckets: &[f64], problems: &mut Problems) {
    if buckets.is_empty() {
        problems.push(
            Problem::new(
                "metrics",
                ProblemKind::Invalid,
                "",
                "no latency buckets; give at least one upper bound",
            )
            .with_location("buckets"),
        );
    }
    let mut before: Option<f64> = None;
    for (i, &b) in buckets.iter().enumerate() {
        if !(b.is_finite() && b > 0.0) {
            problems.push(
                Problem::new(
                    "metrics",
                    ProblemKind::OutOfRange,
                    b.to_string(),
                    format!("bucket bound \"{b}\" is not a finite positive number of seconds"),
                )
                .with_location(format!("buckets[{i}]")),
            );
            continue;
        }
        match before {
            Some(highest) if b <= highest => problems.push(
                Problem::new(
                    "metrics",
                    ProblemKind::Invalid,
                    b.to_string(),
                    format!("bucket bound \"{b}\" is not above the one before it"),
                )
                .with_related(highest.to_string())
                .with_location(format!("buckets[{i}]")),
            ),
            _ => before = Some(b),
        }
    }
}

//! [`MetricsConfig`]: the `metrics` section of a gateway configuration, as plain serde data.

use serde::{Deserialize, Serialize};

use super::builder::check_buckets;
use super::registry::{Registry, DEFAULT_BUCKETS, DEFAULT_MAX_SERIES, MAX_SERIES_LIMIT};
use crate::error::{ConfigError, Problem, ProblemKind, Problems};

/// The metrics of a gateway as data: built in code or deserialized (every field optional,
/// unknown fields refused), validated into a [`Registry`] by [`build`](Self::build).
///
/// ```
/// use tower_gateway::metrics::MetricsConfig;
///
/// let config: MetricsConfig = serde_json::from_str(r#"{
///     "buckets": [0.01, 0.1, 1.0],
///     "unmatched_label": "(none)",
///     "max_series": 1000
/// }"#)?;
/// assert!(config.enabled); // the default
/// let registry = config.build()?;
/// assert_eq!(registry.series_count(), 0);
///
/// // Every problem at once, located within the section.
/// let bad: MetricsConfig = serde_json::from_str(r#"{"buckets": [0.5, 0.1, -1], "max_series": 0}"#)?;
/// let err = bad.build().unwrap_err().at("metrics");
/// let at: Vec<_> = err.problems().iter().filter_map(|p| p.location()).collect();
/// assert_eq!(at, ["metrics.buckets[1]", "metrics.buckets[2]", "metrics.max_series"]);
/// # Ok::<_, Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[must_use]
pub struct MetricsConfig {
    /// Whether the gateway records metrics at all (read by whoever assembles the stack:
    /// [`build`](Self::build) builds the registry either way). Default: `true`.
    pub enabled: bool,
    /// Upper bounds of the latency buckets in seconds: finite, positive, increasing; `+Inf`
    /// is always added. Default: [`DEFAULT_BUCKETS`].
    pub buckets: Vec<f64>,
    /// The `route` label of requests no route matched. Default: `""`.
    pub unmatched_label: String,
    /// The most series the registry holds, 1 to [`MAX_SERIES_LIMIT`].
    /// Default: [`DEFAULT_MAX_SERIES`].
    pub max_series: usize,
    /// Whether the same facts also go to the `metrics` crate facade (needs the
    /// `metrics-facade` feature; `true` without it is a configuration error). Default: `false`.
    pub facade: bool,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            buckets: DEFAULT_BUCKETS.to_vec(),
            unmatched_label: String::new(),
            max_series: DEFAULT_MAX_SERIES,
            facade: false,
        }
    }
}

impl MetricsConfig {
    /// The defaults: enabled, [`DEFAULT_BUCKETS`], `""` for unmatched routes,
    /// [`DEFAULT_MAX_SERIES`], no facade.
    pub fn new() -> Self {
        Self::default()
    }

    /// The registry this section describes.
    ///
    /// # Errors
    ///
    /// Every problem, located relative to the section (`buckets`, `buckets[2]`,
    /// `max_series`, `facade`; prefix it with [`ConfigError::at`]): no bucket, a bound that
    /// is not a finite positive number or not above the one before, `max_series` out of
    /// range, `facade` without the `metrics-facade` feature.
    pub fn build(&self) -> Result<Registry, ConfigError> {
        let mut problems = Problems::new();
        check_buckets(&self.buckets, &mut problems);
        if !(1..=MAX_SERIES_LIMIT).contains(&self.max_series) {
            problems.push(
                Problem::new(
                    "metrics",
                    ProblemKind::OutOfRange,
                    self.max_series.to_string(),
                    format!(
                        "max_series \"{}\" is not between 1 and {MAX_SERIES_LIMIT}",
                        self.max_series
                    ),
                )
                .with_location("max_series"),
            );
        }
        if self.facade && !cfg!(feature = "metrics-facade") {
            problems.push(
                Problem::new(
                    "metrics",
                    ProblemKind::Unknown,
                    "true",
                    "the metrics facade needs the `metrics-facade` feature of tower-gateway",
                )
                .with_location("facade"),
            );
        }
        problems.finish(|| ())?;
        let builder = Registry::builder()
            .buckets(self.buckets.iter().copied())
            .unmatched_label(self.unmatched_label.as_str())
            .max_series(self.max_series);
        #[cfg(feature = "metrics-facade")]
        let builder = builder.facade(self.facade);
        builder.build()
    }
}

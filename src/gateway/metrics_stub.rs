//! TEMPORARY stand-in for `metrics::MetricsConfig` until the metrics branch lands.
#![allow(missing_docs, clippy::missing_errors_doc)]

use serde::{Deserialize, Serialize};

use crate::error::ConfigError;
use crate::metrics::Registry;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    pub enabled: bool,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self { enabled: true }
    }
}

impl MetricsConfig {
    pub fn build(&self) -> Result<Registry, ConfigError> {
        Ok(Registry::new())
    }
}

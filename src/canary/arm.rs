//! [`Arm`]: which arm of a canary split served a request.

use std::fmt;
use std::sync::Arc;

/// The arm of a canary split that served a request: its name and whether it is the canary.
///
/// Put in the request extensions before the arm is called (for the backend) and in the response
/// extensions (for outer layers such as the access log). Cloning is one reference-count bump.
///
/// ```
/// use tower_gateway::canary::Arm;
///
/// let arm = Arm::new("v2", true);
/// assert_eq!(arm.name(), "v2");
/// assert!(arm.is_canary());
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Arm(Arc<Inner>);

/// One pointer wide, so that an `Arm` moves and sits in the extensions as a single word.
#[derive(PartialEq, Eq, Hash)]
struct Inner {
    name: Arc<str>,
    canary: bool,
}

impl Arm {
    /// An arm called `name`; `canary` says whether it is the canary (not the stable) arm.
    #[must_use]
    pub fn new(name: impl Into<Arc<str>>, canary: bool) -> Self {
        Self(Arc::new(Inner {
            name: name.into(),
            canary,
        }))
    }

    /// The arm's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// Whether this is the canary arm.
    #[must_use]
    pub fn is_canary(&self) -> bool {
        self.0.canary
    }
}

impl fmt::Debug for Arm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Arm")
            .field("name", &self.name())
            .field("canary", &self.is_canary())
            .finish()
    }
}

impl fmt::Display for Arm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

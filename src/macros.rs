//! Macros shared by the layers' services.

/// Defines `get_ref`, `get_mut` and `into_inner` for a service whose wrapped service is the
/// field `inner: S` (for a split, the stable arm).
#[allow(unused_macros)] // used by whichever layers are enabled
macro_rules! define_inner_service_accessors {
    () => {
        /// The wrapped service.
        pub fn get_ref(&self) -> &S {
            &self.inner
        }

        /// The wrapped service, mutably.
        pub fn get_mut(&mut self) -> &mut S {
            &mut self.inner
        }

        /// Consumes this service and returns the wrapped one.
        pub fn into_inner(self) -> S {
            self.inner
        }
    };
}

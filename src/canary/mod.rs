//! CanarySplit (being built): weighted splits between a stable and a canary service.

mod arm;

pub use arm::Arm;

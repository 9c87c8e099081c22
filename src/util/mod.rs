//! Small pieces shared by several layers.

#![allow(dead_code, unreachable_pub)] // each piece is used by whichever layers are enabled

pub(crate) mod boxed;
pub(crate) mod oneshot;

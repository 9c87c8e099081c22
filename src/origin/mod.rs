//! OriginGuard (not yet built).

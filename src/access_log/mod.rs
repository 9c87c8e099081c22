//! AccessLog (not yet built).

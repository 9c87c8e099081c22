//! CanarySplit (not yet built).

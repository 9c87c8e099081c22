//! CorsLayer (not yet built).

//! Evidence collectors (filled in by the collectors work).

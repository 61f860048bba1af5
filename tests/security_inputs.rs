//! Regression tests for the red-team findings of ../shared/reviews/security-2026-12.md (issue 14).

#[allow(unused_imports)]
use crate::support::*;

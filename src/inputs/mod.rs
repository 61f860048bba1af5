//! The run's inputs: the profile (which controls, which templates), the site file (this institution's
//! values) and the OS lifecycle table, with the file:line:key positions their errors name.

pub mod assets;
pub mod frameworks;
pub mod lifecycle;
pub mod profile;
pub mod site;
pub mod textpos;

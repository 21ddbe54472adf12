//! Server commands: INFO, CONFIG, TIME, SLOWLOG, DEBUG, SHUTDOWN.

use crate::command::Handler;

pub const HANDLERS: &[(&str, Handler)] = &[];

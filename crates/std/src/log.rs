//! Where the std layer's verbose and progress lines go. The library never writes to stdout or
//! stderr by itself: a caller that wants the tutorial's printout passes a [`Log`] that prints.
//!
//! ```
//! use fpf_std::log::Log;
//! let mut lines = Vec::new();
//! {
//!     let log = Log::to(|line: &str| lines.push(line.to_string()));
//!     log.line("Fixed-point finder: 4 states");
//! }
//! assert_eq!(lines, ["Fixed-point finder: 4 states"]);
//! ```

use std::cell::RefCell;

/// A sink for messages: each call gets one message without its trailing newline (a message
/// may hold inner newlines, e.g. a banner with a blank line before it).
#[derive(Default)]
pub struct Log<'a> {
    sink: Option<RefCell<Sink<'a>>>,
}

type Sink<'a> = Box<dyn FnMut(&str) + 'a>;

impl<'a> Log<'a> {
    /// Discards every message.
    pub fn none() -> Self {
        Log { sink: None }
    }

    /// Hands every message to `sink`.
    pub fn to(sink: impl FnMut(&str) + 'a) -> Self {
        Log {
            sink: Some(RefCell::new(Box::new(sink))),
        }
    }

    /// True when messages go somewhere (callers may skip formatting otherwise).
    pub fn is_on(&self) -> bool {
        self.sink.is_some()
    }

    /// Sends one message. A sink that logs from inside itself (re-entrantly) loses that inner
    /// message rather than panicking.
    pub fn line(&self, msg: &str) {
        if let Some(cell) = &self.sink
            && let Ok(mut f) = cell.try_borrow_mut()
        {
            f(msg);
        }
    }
}

impl std::fmt::Debug for Log<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.is_on() {
            "Log(sink)"
        } else {
            "Log(none)"
        })
    }
}

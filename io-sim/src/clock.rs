//! The simulated wall clock: turmoil's epoch plus the simulated time elapsed, plus an
//! offset that the simulation may change at any moment, so that the wall clock jumps
//! backwards or forwards the way NTP steps or a VM resume make a real one jump. The
//! monotonic clock stays tokio's simulated time, untouched by jumps.

use cinnabar_core::{MonoNs, UnixUs};
use cinnabar_io_real::driver::WallClock;
use std::cell::Cell;
use std::rc::Rc;

/// A jump larger than this is a bug in the scenario, not a clock fault worth testing.
const JUMP_US_MAX: i64 = 10 * 365 * 24 * 3600 * 1_000_000;

/// The shared, adjustable offset of the wall clock, in microseconds. Every clone sees
/// the same value: the simulation keeps one to make time jump, the server's clock and
/// the clients read it. A turmoil simulation runs on one thread, hence `Rc<Cell>`.
#[derive(Debug, Clone, Default)]
pub struct WallOffset(Rc<Cell<i64>>);

impl WallOffset {
    pub fn new() -> WallOffset {
        WallOffset::default()
    }

    /// Move the wall clock by `delta_us` (negative: backwards) from now on.
    pub fn jump_us(&self, delta_us: i64) {
        assert!(
            delta_us.abs() <= JUMP_US_MAX,
            "wall-clock jump of {delta_us} us"
        );
        self.0.set(self.0.get() + delta_us);
    }

    pub fn jump_ms(&self, delta_ms: i64) {
        self.jump_us(delta_ms * 1000);
    }

    /// The sum of every jump so far.
    pub fn get_us(&self) -> i64 {
        self.0.get()
    }
}

/// The wall clock of a simulated host: `turmoil::since_epoch()` (the epoch given to
/// turmoil's builder plus the simulated time elapsed) shifted by the [`WallOffset`].
#[derive(Debug, Clone)]
pub struct SimWallClock {
    offset: WallOffset,
}

impl SimWallClock {
    pub fn new(offset: WallOffset) -> SimWallClock {
        SimWallClock { offset }
    }

    /// The current reading. Must be called from inside a turmoil host.
    pub fn now(&self) -> UnixUs {
        let since_epoch =
            turmoil::since_epoch().expect("the simulated wall clock is read inside a turmoil host");
        let base = i64::try_from(since_epoch.as_micros()).expect("epoch fits in i64 microseconds");
        UnixUs(base + self.offset.get_us())
    }

    pub fn now_ms(&self) -> i64 {
        self.now().ms()
    }

    pub fn offset(&self) -> &WallOffset {
        &self.offset
    }
}

impl WallClock for SimWallClock {
    fn wall(&self, _mono: MonoNs) -> UnixUs {
        // turmoil's elapsed time and tokio's paused clock advance together, so this
        // reading moves in step with `mono` except across jumps of the offset.
        self.now()
    }
}

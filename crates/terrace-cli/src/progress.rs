//! Live progress on a terminal: a one-line bar on stderr for the migration running,
//! with how long it has run, redrawn by a ticker thread while it runs; and how much
//! the command says at all ([`Verbosity`]).
//!
//! What is drawn is decided by [`Bar`], plain state with no I/O; [`Live`] owns the
//! thread and the terminal. Lines printed while a bar is drawn go through
//! [`Live::print_over`], which erases the bar first and draws it again after, so the
//! ticker never writes in the middle of a line.

use std::io::{self, Write};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How often the bar is redrawn while a migration runs.
pub const TICK: Duration = Duration::from_millis(200);

/// Bars longer than this are cut, so that a long name never wraps the line (a
/// wrapped line cannot be redrawn in place).
const MAX_LINE: usize = 100;

/// How much a command says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Verbosity {
    /// Only errors (`-q`).
    Quiet,
    /// Results, progress and warnings.
    #[default]
    Normal,
    /// Also each statement as it runs (`-v`).
    Verbose,
}

/// The migration running, as the bar shows it.
#[derive(Debug, Clone)]
struct Running {
    /// Steps finished before it.
    done: usize,
    /// Steps in the plan.
    of: usize,
    /// What it does: `applying 3 add_x`.
    what: String,
    /// When it started.
    started: Instant,
}

/// What the bar shows, and whether it is on the screen.
#[derive(Debug, Default)]
pub struct Bar {
    running: Option<Running>,
    drawn: bool,
}

impl Bar {
    /// Step `step` (from 1) of `of` starts: the bar counts the steps before it.
    pub fn start(&mut self, step: usize, of: usize, what: String, now: Instant) {
        self.running = Some(Running {
            done: step.saturating_sub(1),
            of,
            what,
            started: now,
        });
    }

    /// No migration runs any more.
    pub fn stop(&mut self) {
        self.running = None;
    }

    /// The bar to draw at `now`, if a migration runs; it is then on the screen.
    pub fn frame(&mut self, now: Instant) -> Option<String> {
        let running = self.running.as_ref()?;
        self.drawn = true;
        Some(progress_bar(
            running.done,
            running.of,
            now.saturating_duration_since(running.started),
            &running.what,
        ))
    }

    /// What erases the bar from the screen: nothing if it is not drawn.
    pub fn erase(&mut self) -> &'static str {
        if std::mem::take(&mut self.drawn) {
            "\r\x1b[2K"
        } else {
            ""
        }
    }
}

/// A one-line progress bar: `[=====>                  ] 1/4  applying 2 add_x  3.2 s`.
/// The bar and the count are the steps finished, never the one running: the last
/// step of four runs under `3/4`.
pub fn progress_bar(done: usize, of: usize, elapsed: Duration, what: &str) -> String {
    const WIDTH: usize = 24;
    let done = done.min(of);
    let filled = (done * WIDTH) / of.max(1);
    let mut bar = "=".repeat(filled);
    if filled < WIDTH {
        bar.push('>');
    }
    let width = of.to_string().len();
    let line = format!(
        "[{bar:<WIDTH$}] {done:>width$}/{of}  {what}  {}",
        elapsed_time(elapsed)
    );
    if line.chars().count() <= MAX_LINE {
        return line;
    }
    let mut cut: String = line.chars().take(MAX_LINE - 1).collect();
    cut.push('…');
    cut
}

/// The progress line of a fleet job: a bar when the number of targets is known,
/// `… 120/500  1 failed, 4 running, 35.2/s, ETA 11.1 s  3.4 s`; the counts alone when it
/// is not.
pub fn fleet_line(
    finished: usize,
    total: Option<usize>,
    failed: usize,
    running: usize,
    elapsed: Duration,
) -> String {
    let seconds = elapsed.as_secs_f64().max(0.001);
    let rate = finished as f64 / seconds;
    let mut what = format!("{failed} failed, {running} running, {rate:.1}/s");
    match total {
        Some(total) => {
            if finished > 0 && finished < total {
                let left = (total - finished) as f64 / rate;
                what.push_str(&format!(
                    ", ETA {}",
                    elapsed_time(Duration::from_secs_f64(left.min(1e9)))
                ));
            }
            progress_bar(finished, total, elapsed, &what)
        }
        None => format!("{finished} done, {what}  {}", elapsed_time(elapsed)),
    }
}

/// How long a migration has run, to the tenth of a second: `0.4 s`, `1m 05s`,
/// `2h 03m`.
pub fn elapsed_time(elapsed: Duration) -> String {
    let seconds = elapsed.as_secs();
    match seconds {
        0..60 => format!("{:.1} s", elapsed.as_secs_f64()),
        60..3600 => format!("{}m {:02}s", seconds / 60, seconds % 60),
        _ => format!("{}h {:02}m", seconds / 3600, seconds % 3600 / 60),
    }
}

/// A setting's duration as people write it: `5m`, `1m 30s`, `1h`, `500ms`.
pub fn human_timeout(timeout: Duration) -> String {
    let seconds = timeout.as_secs();
    if seconds == 0 {
        return format!("{}ms", timeout.as_millis());
    }
    [
        (seconds / 3600, "h"),
        (seconds % 3600 / 60, "m"),
        (seconds % 60, "s"),
    ]
    .iter()
    .filter(|(count, _)| *count > 0)
    .map(|(count, unit)| format!("{count}{unit}"))
    .collect::<Vec<_>>()
    .join(" ")
}

/// The bar on stderr, redrawn every [`TICK`] by a thread of its own while a migration
/// runs. Does nothing when not enabled (not a terminal, JSON, `-q`).
#[derive(Debug)]
pub struct Live {
    enabled: bool,
    bar: Arc<Mutex<Bar>>,
    /// The ticker thread, and the sender whose drop stops it; started with the first
    /// migration.
    ticker: Mutex<Option<(mpsc::Sender<()>, JoinHandle<()>)>>,
}

fn locked<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while drawing leaves nothing half-done that matters: draw on.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Draws `bar`'s frame at `now` over the current line of stderr.
fn draw(bar: &mut Bar, now: Instant) {
    if let Some(frame) = bar.frame(now) {
        let mut stderr = io::stderr().lock();
        let _ = write!(stderr, "\r\x1b[2K{frame}");
        let _ = stderr.flush();
    }
}

fn erase(bar: &mut Bar) {
    let erase = bar.erase();
    if !erase.is_empty() {
        let mut stderr = io::stderr().lock();
        let _ = stderr.write_all(erase.as_bytes());
        let _ = stderr.flush();
    }
}

impl Live {
    /// A bar drawn only if `enabled`.
    pub fn new(enabled: bool) -> Self {
        Live {
            enabled,
            bar: Arc::default(),
            ticker: Mutex::new(None),
        }
    }

    /// Step `step` (from 1) of `of` starts: draws the bar, and keeps it up to date.
    pub fn start(&self, step: usize, of: usize, what: String) {
        if !self.enabled {
            return;
        }
        {
            let mut bar = locked(&self.bar);
            bar.start(step, of, what, Instant::now());
            draw(&mut bar, Instant::now());
        }
        let mut ticker = locked(&self.ticker);
        if ticker.is_none() {
            let (stop, stopped) = mpsc::channel::<()>();
            let bar = Arc::clone(&self.bar);
            let thread = std::thread::spawn(move || {
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(TICK) {
                    draw(&mut locked(&bar), Instant::now());
                }
            });
            *ticker = Some((stop, thread));
        }
    }

    /// No migration runs any more: erases the bar.
    pub fn stop(&self) {
        let mut bar = locked(&self.bar);
        bar.stop();
        erase(&mut bar);
    }

    /// Runs `print` with the bar erased, and draws it again after if a migration
    /// still runs.
    pub fn print_over<T>(&self, print: impl FnOnce() -> T) -> T {
        let mut bar = locked(&self.bar);
        erase(&mut bar);
        let result = print();
        draw(&mut bar, Instant::now());
        result
    }

    /// Erases the bar and ends the ticker thread.
    pub fn finish(&self) {
        self.stop();
        let ticker = locked(&self.ticker).take();
        if let Some((stop, thread)) = ticker {
            drop(stop);
            let _ = thread.join();
        }
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fleet_lines_show_counts_rate_and_eta() {
        let line = fleet_line(100, Some(400), 2, 4, Duration::from_secs(10));
        assert_eq!(
            line,
            "[======>                 ] 100/400  2 failed, 4 running, 10.0/s, ETA 30.0 s  10.0 s"
        );
        assert_eq!(
            fleet_line(400, Some(400), 0, 0, Duration::from_secs(20)),
            "[========================] 400/400  0 failed, 0 running, 20.0/s  20.0 s"
        );
        assert_eq!(
            fleet_line(0, Some(3), 0, 2, Duration::ZERO),
            "[>                       ] 0/3  0 failed, 2 running, 0.0/s  0.0 s"
        );
        assert_eq!(
            fleet_line(7, None, 1, 2, Duration::from_secs(2)),
            "7 done, 1 failed, 2 running, 3.5/s  2.0 s"
        );
    }

    #[test]
    fn the_bar_counts_the_steps_finished() {
        let second = Duration::from_secs(1);
        assert_eq!(
            progress_bar(0, 4, Duration::ZERO, "applying 1 a"),
            "[>                       ] 0/4  applying 1 a  0.0 s"
        );
        // Step 2 of 2 runs: one finished, the bar half full, and it says so.
        assert_eq!(
            progress_bar(1, 2, second, "x"),
            "[============>           ] 1/2  x  1.0 s"
        );
        assert_eq!(
            progress_bar(6, 120, second, "x"),
            "[=>                      ]   6/120  x  1.0 s"
        );
        assert_eq!(
            progress_bar(4, 4, second, "x"),
            "[========================] 4/4  x  1.0 s"
        );
        let long = progress_bar(0, 1, second, &"n".repeat(200));
        assert_eq!(long.chars().count(), MAX_LINE);
        assert!(long.ends_with('…'));
    }

    #[test]
    fn elapsed_times() {
        assert_eq!(elapsed_time(Duration::from_millis(420)), "0.4 s");
        assert_eq!(elapsed_time(Duration::from_millis(59_940)), "59.9 s");
        assert_eq!(elapsed_time(Duration::from_secs(65)), "1m 05s");
        assert_eq!(elapsed_time(Duration::from_secs(7380)), "2h 03m");
    }

    #[test]
    fn timeouts_as_people_write_them() {
        assert_eq!(human_timeout(Duration::from_secs(300)), "5m");
        assert_eq!(human_timeout(Duration::from_secs(90)), "1m 30s");
        assert_eq!(human_timeout(Duration::from_secs(1)), "1s");
        assert_eq!(human_timeout(Duration::from_secs(3600)), "1h");
        assert_eq!(human_timeout(Duration::from_secs(3690)), "1h 1m 30s");
        assert_eq!(human_timeout(Duration::from_secs(100 * 3600)), "100h");
        assert_eq!(human_timeout(Duration::from_millis(500)), "500ms");
        assert_eq!(human_timeout(Duration::ZERO), "0ms");
    }

    #[test]
    fn the_bar_shows_the_running_migration_with_its_time_until_it_stops() {
        let mut bar = Bar::default();
        let t0 = Instant::now();
        assert_eq!(bar.frame(t0), None, "nothing runs: nothing drawn");
        assert_eq!(bar.erase(), "");

        // A single migration gets a bar too, from its start.
        bar.start(1, 1, "applying 1 slow".to_owned(), t0);
        assert_eq!(
            bar.frame(t0).as_deref(),
            Some("[>                       ] 0/1  applying 1 slow  0.0 s")
        );
        // Each tick shows the time so far.
        assert_eq!(
            bar.frame(t0 + Duration::from_millis(2500)).as_deref(),
            Some("[>                       ] 0/1  applying 1 slow  2.5 s")
        );
        assert_eq!(bar.erase(), "\r\x1b[2K", "drawn: erased before a line");
        assert_eq!(bar.erase(), "", "erased once");

        bar.stop();
        assert_eq!(bar.frame(t0 + Duration::from_secs(3)), None);
        assert_eq!(bar.erase(), "");
    }

    #[test]
    fn a_disabled_bar_draws_nothing_and_starts_no_thread() {
        let live = Live::new(false);
        live.start(1, 3, "applying 1 a".to_owned());
        assert!(locked(&live.ticker).is_none());
        assert_eq!(locked(&live.bar).frame(Instant::now()), None);
        assert_eq!(live.print_over(|| 7), 7);
    }
}

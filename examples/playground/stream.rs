//! A run's Server-Sent Events, written by its connection's thread so that a slow or silent
//! client never holds up the run: the run posts what it has, the newest frame replacing an
//! unsent one, and the writer sends it as fast as the client takes it.

use std::io::{self, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

/// How often a paused run's last frame is sent again: a write is how a closed tab is noticed,
/// and a frame is what the page answers with its sign of life.
pub const HEARTBEAT: Duration = Duration::from_millis(500);
/// The longest an event may take to be written: a client that takes less than one event in
/// this time is not reading, and its stream is closed.
pub const EVENT_WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// What a run has for its page and not yet written: at most one event of each name (the newest)
/// and the newest frame, so that it holds a few frames' bytes however far behind the client is.
pub struct Outbox {
    queued: Mutex<Queued>,
    signal: Condvar,
}

#[derive(Default)]
struct Queued {
    events: Vec<(&'static str, String)>,
    frame: Option<String>,
    closed: bool,
}

impl Outbox {
    pub fn new() -> Outbox {
        Outbox {
            queued: Mutex::new(Queued::default()),
            signal: Condvar::new(),
        }
    }

    /// Queues event `name`, in place of an unsent one of that name.
    pub fn post(&self, name: &'static str, data: &serde_json::Value) {
        let mut queued = self.queued.lock().expect("outbox");
        queued
            .events
            .retain(|(queued_name, _)| *queued_name != name);
        if name == "data" {
            queued.frame = None; // drawn over the old points; the next frame will come
        }
        queued.events.push((name, data.to_string()));
        self.signal.notify_all();
    }

    /// Queues a frame, in place of an unsent one.
    pub fn post_frame(&self, frame: &serde_json::Value) {
        self.queued.lock().expect("outbox").frame = Some(frame.to_string());
        self.signal.notify_all();
    }

    pub fn close(&self) {
        self.queued.lock().expect("outbox").closed = true;
        self.signal.notify_all();
    }

    pub fn is_closed(&self) -> bool {
        self.queued.lock().expect("outbox").closed
    }

    /// What to write next, waiting up to `wait`; `None` once closed.
    fn take(&self, wait: Duration) -> Option<Queued> {
        let queued = self.queued.lock().expect("outbox");
        let (mut queued, _) = self
            .signal
            .wait_timeout_while(queued, wait, |queued| {
                !queued.closed && queued.events.is_empty() && queued.frame.is_none()
            })
            .expect("outbox");
        if queued.closed {
            return None;
        }
        Some(Queued {
            events: std::mem::take(&mut queued.events),
            frame: queued.frame.take(),
            closed: false,
        })
    }
}

/// Writes the response's head and `first` events, then whatever the run posts, until the run
/// closes the outbox or a write fails or times out (the outbox is then closed for the run).
pub fn write_events(mut stream: TcpStream, first: &[(&str, serde_json::Value)], outbox: &Outbox) {
    let head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\n\
                X-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n";
    let mut written = write_within(&mut stream, head.as_bytes()).is_ok();
    for (name, data) in first {
        written = written && write_within(&mut stream, event(name, &data.to_string())).is_ok();
    }
    let mut last_frame = String::new();
    while written {
        let Some(Queued { events, frame, .. }) = outbox.take(HEARTBEAT) else {
            break;
        };
        let heartbeat = events.is_empty() && frame.is_none();
        let mut batch = Vec::new();
        for (name, data) in &events {
            batch.extend_from_slice(&event(name, data));
            if *name == "data" {
                last_frame.clear(); // a frame of the old points is not sent again
            }
        }
        if let Some(frame) = frame {
            batch.extend_from_slice(&event("frame", &frame));
            last_frame = frame;
        } else if heartbeat && !last_frame.is_empty() {
            batch.extend_from_slice(&event("frame", &last_frame));
        }
        written = write_within(&mut stream, batch).is_ok();
    }
    outbox.close();
    let _ = stream.shutdown(Shutdown::Both);
}

fn event(name: &str, data: &str) -> Vec<u8> {
    format!("event: {name}\ndata: {data}\n\n").into_bytes()
}

/// Writes all of `bytes` within [`EVENT_WRITE_TIMEOUT`], or fails.
fn write_within(stream: &mut TcpStream, bytes: impl AsRef<[u8]>) -> io::Result<()> {
    let deadline = Instant::now() + EVENT_WRITE_TIMEOUT;
    let mut bytes = bytes.as_ref();
    while !bytes.is_empty() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::ErrorKind::TimedOut.into());
        }
        stream.set_write_timeout(Some(left))?;
        match stream.write(bytes) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(written) => bytes = &bytes[written..],
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(())
}

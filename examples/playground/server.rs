//! The HTTP side: a few fixed routes on `tiny_http`, the page's assets compiled into the binary
//! (no route reads a file), a bounded registry of runs, and each run's Server-Sent Events.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::json;
use tiny_http::{Header, Method, Request, Response, Server};

use crate::data::Data;
use crate::run::{Command, Run};
use crate::settings::{LIMITS, Settings};

/// The page and its assets, with their content types.
const ASSETS: [(&str, &str, &str); 3] = [
    (
        "/",
        "text/html; charset=utf-8",
        include_str!("assets/index.html"),
    ),
    (
        "/app.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/app.js"),
    ),
    (
        "/style.css",
        "text/css; charset=utf-8",
        include_str!("assets/style.css"),
    ),
];

/// Frames per second while a run trains, whatever its speed.
const FRAME: Duration = Duration::from_millis(50);
/// How often a paused run writes to its stream anyway: a write is how a closed tab is noticed.
const HEARTBEAT: Duration = Duration::from_millis(500);
/// How long a request waits for its run to take a command (a frame's work at most, normally).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest self-test report read from the page.
const MAX_REPORT_BYTES: usize = 64 << 10;
/// How long the self-test page's load waits for its report.
const SELF_TEST_TIMEOUT: Duration = Duration::from_secs(60);

/// A command for a run and where its answer goes.
struct Order {
    command: Command,
    reply: Sender<Result<(), String>>,
}

/// At most this many requests wait for a self-test report at once, each on a thread of its own.
const MAX_SELF_TEST_WAITERS: usize = 4;

/// Everything the request handlers share.
pub struct Playground {
    max_runs: usize,
    /// The `Host` headers accepted when the server listens on the loopback interface, so that a
    /// web page whose name was pointed at 127.0.0.1 (DNS rebinding) cannot drive it; `None`
    /// when `--host` serves other machines.
    local_hosts: Option<[String; 3]>,
    runs: Mutex<HashMap<u64, Sender<Order>>>,
    next_run: AtomicU64,
    /// The self-test page's last report, and a signal for the request that holds its load.
    self_test: (Mutex<Option<String>>, Condvar),
    self_test_waiters: AtomicUsize,
}

impl Playground {
    pub fn new(max_runs: usize, address: SocketAddr) -> Playground {
        let port = address.port();
        let local_hosts = address.ip().is_loopback().then(|| {
            [
                format!("127.0.0.1:{port}"),
                format!("localhost:{port}"),
                format!("[::1]:{port}"),
            ]
        });
        Playground {
            max_runs,
            local_hosts,
            runs: Mutex::new(HashMap::new()),
            next_run: AtomicU64::new(1),
            self_test: (Mutex::new(None), Condvar::new()),
            self_test_waiters: AtomicUsize::new(0),
        }
    }

    /// Whether the request names this server as its host (always, off the loopback interface).
    fn host_allowed(&self, request: &Request) -> bool {
        let Some(allowed) = &self.local_hosts else {
            return true;
        };
        request
            .headers()
            .iter()
            .find(|header| header.field.equiv("Host"))
            .is_some_and(|host| allowed.iter().any(|name| host.value.as_str() == name))
    }

    /// Answers requests from `server` until it closes; call it from a few threads at once.
    pub fn serve(self: &Arc<Self>, server: &Server) {
        for request in server.incoming_requests() {
            if !self.host_allowed(&request) {
                respond_error(request, 403, "this server answers to its own address only");
                continue;
            }
            let path = request.url().split('?').next().unwrap_or("").to_string();
            let method = request.method().clone();
            match (&method, path.as_str()) {
                (Method::Get, "/api/events") => self.open_run(request),
                (Method::Get, "/api/status") => {
                    let live = self.runs.lock().expect("runs").len();
                    respond_json(
                        request,
                        200,
                        &json!({ "live_runs": live, "max_runs": self.max_runs }),
                    );
                }
                (Method::Post, "/api/self-test") => self.take_report(request),
                (Method::Get, "/api/self-test/wait") => self.hold_for_report(request),
                (Method::Post, path) if path.starts_with("/api/runs/") => {
                    self.command(request, &path["/api/runs/".len()..]);
                }
                (Method::Get, path) => match ASSETS.iter().find(|(route, ..)| *route == path) {
                    Some(&(_, content_type, body)) => {
                        let response = Response::from_string(body)
                            .with_header(header("Content-Type", content_type))
                            .with_header(header("Cache-Control", "no-store"));
                        let _ = request.respond(response);
                    }
                    None => respond_error(request, 404, "no such page"),
                },
                _ => respond_error(request, 405, "method not allowed"),
            }
        }
    }

    /// `GET /api/events`: a new run for this tab and its stream of events, or a `full` event.
    fn open_run(self: &Arc<Self>, request: Request) {
        let (orders, inbox) = mpsc::channel();
        let id = self.next_run.fetch_add(1, Ordering::Relaxed);
        let admitted = {
            let mut runs = self.runs.lock().expect("runs");
            let room = runs.len() < self.max_runs;
            if room {
                runs.insert(id, orders);
            }
            room
        };
        let Ok(mut stream) = EventStream::open(request) else {
            self.runs.lock().expect("runs").remove(&id);
            return;
        };
        if !admitted {
            let message = format!(
                "The server is full: it trains at most {} runs at once (--max-runs). Close another \
                 tab of the playground and reload this one.",
                self.max_runs
            );
            let _ = stream.send("full", &json!({ "message": message }));
            return;
        }
        let playground = Arc::clone(self);
        std::thread::spawn(move || {
            // Frees the slot however the run ends, a panic included.
            let _slot = Slot {
                playground: &playground,
                id,
            };
            stream_run(id, stream, &inbox);
        });
    }

    /// `POST /api/runs/ID/command` (JSON) or `/api/runs/ID/csv` (the file's bytes).
    fn command(&self, mut request: Request, rest: &str) {
        let Some((id, what)) = rest.split_once('/') else {
            return respond_error(request, 404, "no such route");
        };
        let Ok(id) = id.parse::<u64>() else {
            return respond_error(request, 404, "no such run");
        };
        // Types a page elsewhere cannot send without asking first (CORS), unlike text/plain.
        let expected_type = match what {
            "command" => "application/json",
            "csv" => "text/csv",
            _ => return respond_error(request, 404, "no such route"),
        };
        if content_type(&request) != Some(expected_type) {
            return respond_error(request, 415, &format!("expected a body of {expected_type}"));
        }
        let command = match what {
            "command" => read_body(&mut request, 64 << 10).and_then(|body| parse_command(&body)),
            "csv" => read_body(&mut request, LIMITS.max_csv_bytes)
                .and_then(|body| Data::from_csv(&body))
                .map(Command::Upload)
                .map_err(|message| format!("CSV file: {message}")),
            _ => return respond_error(request, 404, "no such route"),
        };
        let command = match command {
            Ok(command) => command,
            Err(message) => return respond_error(request, 400, &message),
        };
        let orders = self.runs.lock().expect("runs").get(&id).cloned();
        let Some(orders) = orders else {
            return respond_error(
                request,
                404,
                "this run has ended: reload the page for a new one",
            );
        };
        let (reply, answer) = mpsc::channel();
        let outcome = orders
            .send(Order { command, reply })
            .map_err(|_| "this run has ended: reload the page".to_string())
            .and_then(|()| {
                answer
                    .recv_timeout(COMMAND_TIMEOUT)
                    .map_err(|_| "the run did not answer: reload the page".to_string())?
            });
        match outcome {
            Ok(()) => respond_json(request, 200, &json!({ "ok": true })),
            Err(message) => respond_error(request, 400, &message),
        }
    }

    /// `POST /api/self-test`: the page's self-test report (`?self-test`), printed on stdout
    /// for the browser test to read, and the page's held load released.
    fn take_report(&self, mut request: Request) {
        let report = match read_body(&mut request, MAX_REPORT_BYTES) {
            Ok(body) => String::from_utf8_lossy(&body).replace('\n', " "),
            Err(message) => return respond_error(request, 400, &message),
        };
        println!("self-test report: {report}");
        let (slot, signal) = &self.self_test;
        *slot.lock().expect("report") = Some(report);
        signal.notify_all();
        respond_json(request, 200, &json!({ "ok": true }));
    }

    /// `GET /api/self-test/wait`: answered once the report has come (or after a minute), so
    /// that the page's load event, which this request holds, comes after the self-test, and
    /// Chromium's `--screenshot`, taken at load, shows the page trained. It waits on a thread of
    /// its own, so that waiting requests never hold up the others.
    fn hold_for_report(self: &Arc<Self>, request: Request) {
        if self.self_test_waiters.fetch_add(1, Ordering::SeqCst) >= MAX_SELF_TEST_WAITERS {
            self.self_test_waiters.fetch_sub(1, Ordering::SeqCst);
            return respond_error(request, 503, "too many requests waiting for a self-test");
        }
        let playground = Arc::clone(self);
        std::thread::spawn(move || {
            playground.wait_for_report(request);
            playground.self_test_waiters.fetch_sub(1, Ordering::SeqCst);
        });
    }

    fn wait_for_report(&self, request: Request) {
        let (slot, signal) = &self.self_test;
        let deadline = Instant::now() + SELF_TEST_TIMEOUT;
        let mut report = slot.lock().expect("report");
        while report.is_none() && Instant::now() < deadline {
            report = signal
                .wait_timeout(report, deadline - Instant::now())
                .expect("report")
                .0;
        }
        drop(report);
        let _ = request.respond(Response::empty(204));
    }
}

/// A run's place in the registry, given up when the run's thread ends.
struct Slot<'a> {
    playground: &'a Playground,
    id: u64,
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.playground.runs.lock().expect("runs").remove(&self.id);
    }
}

/// A run's thread: trains while playing, takes commands between frames, and writes a frame
/// every [`FRAME`] while playing, or when something changed, or every [`HEARTBEAT`]. It ends
/// when a write fails: the tab has closed.
fn stream_run(id: u64, mut stream: EventStream, inbox: &Receiver<Order>) {
    let mut run = Run::new();
    let hello = json!({ "run": id, "settings": Settings::tutorial(), "limits": LIMITS });
    if stream.send("hello", &hello).is_err() {
        return;
    }
    let mut due = Instant::now();
    loop {
        if run.playing {
            run.train_until(due);
        } else {
            match inbox.recv_timeout(due.saturating_duration_since(Instant::now())) {
                Ok(order) => obey(&mut run, order),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
        while let Ok(order) = inbox.try_recv() {
            obey(&mut run, order);
        }
        let now = Instant::now();
        if run.playing || run.changed || now >= due {
            let events = std::mem::take(&mut run.pending);
            let sent = events
                .iter()
                .try_for_each(|event| stream.send(event.name, &event.data))
                .and_then(|()| stream.send("frame", &run.frame()));
            if sent.is_err() {
                return;
            }
            // While playing, frames keep to the beat (a late one does not delay the next).
            due = if run.playing {
                (due + FRAME).clamp(now, now + FRAME)
            } else {
                Instant::now() + HEARTBEAT
            };
        }
    }
}

fn obey(run: &mut Run, order: Order) {
    let outcome = run.obey(order.command);
    let _ = order.reply.send(outcome); // the request may have given up waiting
}

/// A command as the page sends it: `{"action": "play"}`, `{"action": "apply", "settings":
/// {...}}`, `{"action": "sharpness", "on": true}`.
#[derive(Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
enum Incoming {
    Play,
    Pause,
    Step,
    Reset,
    Apply { settings: Settings },
    Sharpness { on: bool },
    Tape,
    Gradients,
}

/// The command in a request's JSON body, its settings checked: a message if anything is off.
fn parse_command(body: &[u8]) -> Result<Command, String> {
    let incoming: Incoming =
        serde_json::from_slice(body).map_err(|error| format!("bad command: {error}"))?;
    Ok(match incoming {
        Incoming::Play => Command::Play,
        Incoming::Pause => Command::Pause,
        Incoming::Step => Command::Step,
        Incoming::Reset => Command::Reset,
        Incoming::Apply { settings } => {
            settings.check()?;
            Command::Apply(settings)
        }
        Incoming::Sharpness { on } => Command::Sharpness(on),
        Incoming::Tape => Command::Tape,
        Incoming::Gradients => Command::Gradients,
    })
}

/// The request's body, refused past `limit` bytes before more than `limit + 1` are read.
fn read_body(request: &mut Request, limit: usize) -> Result<Vec<u8>, String> {
    let too_large = || format!("the request has more than {limit} bytes, the most read");
    if request.body_length().is_some_and(|length| length > limit) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    request
        .as_reader()
        .take(limit as u64 + 1)
        .read_to_end(&mut body)
        .map_err(|error| format!("reading the request: {error}"))?;
    if body.len() > limit {
        return Err(too_large());
    }
    Ok(body)
}

/// The media type of the request's body, without parameters (`text/csv; charset=utf-8`).
fn content_type(request: &Request) -> Option<&str> {
    let header = request
        .headers()
        .iter()
        .find(|header| header.field.equiv("Content-Type"))?;
    header.value.as_str().split(';').next().map(str::trim)
}

fn header(name: &str, value: &str) -> Header {
    Header::from_bytes(name, value).expect("a valid header")
}

fn respond_json(request: Request, status: u16, body: &serde_json::Value) {
    let response = Response::from_string(body.to_string())
        .with_status_code(status)
        .with_header(header("Content-Type", "application/json"));
    let _ = request.respond(response); // a client gone before its answer is no error of ours
}

fn respond_error(request: Request, status: u16, message: &str) {
    respond_json(request, status, &json!({ "error": message }));
}

/// A response of Server-Sent Events written straight to the connection: tiny_http's own
/// streaming responses go through a chunked encoder that holds 8 KiB before writing, which
/// would hold frames back, so the headers are written here and every event is flushed.
struct EventStream {
    writer: Box<dyn Write + Send>,
}

impl EventStream {
    fn open(request: Request) -> std::io::Result<EventStream> {
        let mut writer = request.into_writer();
        writer.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
        )?;
        writer.flush()?;
        Ok(EventStream { writer })
    }

    /// One event: its name and its data as one line of JSON.
    fn send(&mut self, event: &str, data: &serde_json::Value) -> std::io::Result<()> {
        write!(self.writer, "event: {event}\ndata: {data}\n\n")?;
        self.writer.flush()
    }
}
